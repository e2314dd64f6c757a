//! `clio produce` and `clio consume`: JSON at the terminal, Confluent-framed Avro on the log.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::Context as _;
use clio_runtime::codec::json::avro_to_json;
use clio_runtime::kafka;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Map, Value as Json, json};

use crate::cli::{ConsumeSettings, ProduceSettings};
use crate::setup::catalogue;

/// Reads JSON documents (one per line; blank lines skipped) and produces each one.
pub async fn produce(settings: ProduceSettings) -> anyhow::Result<()> {
    let catalogue = catalogue(&settings.schemas)?;
    let topic = catalogue
        .topic(&settings.topic)
        .with_context(|| format!("{} is not a topic of the catalogue (clio topics list)", settings.topic))?;
    let record = match (&settings.record, topic.values.as_slice()) {
        (Some(record), values) if values.contains(record) => record.clone(),
        (Some(record), values) => {
            anyhow::bail!("{} does not carry {record}; it carries: {}", topic.name, values.join(", "))
        }
        (None, [only]) => only.clone(),
        (None, values) => {
            anyhow::bail!("{} carries several records; choose one with --type: {}", topic.name, values.join(", "))
        }
    };
    let codec = settings.registry.codec();
    let producer: FutureProducer =
        kafka::producer_for(&settings.kafka, topic.compression).context("creating the producer")?;
    let reader: Box<dyn BufRead> = if settings.input.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(&settings.input).with_context(|| format!("opening {}", settings.input.display()))?,
        ))
    };
    let mut produced = 0usize;
    for (number, line) in reader.lines().enumerate() {
        let line = line.context("reading input")?;
        if line.trim().is_empty() {
            continue;
        }
        let document: Json = serde_json::from_str(&line).with_context(|| format!("line {}: not JSON", number + 1))?;
        let payload = codec
            .encode_json(&topic.name, &record, &document)
            .await
            .with_context(|| format!("line {}: does not fit {record}", number + 1))?;
        let mut future = FutureRecord::<str, [u8]>::to(&topic.name).payload(&payload);
        if let Some(key) = &settings.key {
            future = future.key(key.as_str());
        }
        let delivery = producer
            .send(future, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("line {}: producing to {}", number + 1, topic.name))?;
        println!("{}", json!({"topic": topic.name, "partition": delivery.partition, "offset": delivery.offset}));
        produced += 1;
    }
    eprintln!("{produced} record(s) produced to {}", topic.name);
    Ok(())
}

/// Prints the records of a topic as JSON lines, from `--from` (or the newest `--last`) to
/// the end, or on with --follow.
pub async fn consume(settings: ConsumeSettings) -> anyhow::Result<()> {
    let codec = settings.registry.codec();
    let kafka_settings = settings.kafka.clone();
    let topic = settings.topic.clone();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<OwnedMessage>(256);
    let (follow, from, last) = (settings.follow, settings.from, settings.last);
    let reading = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let consumer: BaseConsumer = kafka::reader(&kafka_settings)?;
        let partitions =
            kafka::partition_count(&consumer, &topic).with_context(|| format!("topic {topic} not found"))?;
        let mut open = std::collections::HashMap::new();
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            let (low, high) = consumer.fetch_watermarks(&topic, partition, kafka::METADATA_TIMEOUT)?;
            let start = match last {
                Some(count) => (high - i64::try_from(count).unwrap_or(i64::MAX)).max(low),
                None => from.max(low),
            };
            if start < high {
                open.insert(partition, high);
            }
            if follow || start < high {
                assignment.add_partition_offset(&topic, partition, Offset::Offset(start))?;
            }
        }
        // With --last, the tails of all partitions are read first, then the newest are sent.
        let mut tails: Vec<OwnedMessage> = Vec::new();
        let mut newer: Vec<OwnedMessage> = Vec::new();
        let flush = |tails: &mut Vec<OwnedMessage>| -> bool {
            tails.sort_by_key(|m| (m.timestamp().to_millis().unwrap_or(0), m.partition(), m.offset()));
            let skip = tails.len().saturating_sub(last.unwrap_or(usize::MAX));
            tails.drain(..).skip(skip).all(|message| sender.blocking_send(message).is_ok())
        };
        if open.is_empty() && (!flush(&mut tails) || !follow) {
            return Ok(());
        }
        if assignment.count() == 0 {
            return Ok(());
        }
        consumer.assign(&assignment)?;
        loop {
            match consumer.poll(Duration::from_millis(500)) {
                Some(Ok(message)) => {
                    let (partition, offset) = (message.partition(), message.offset());
                    let in_tail = open.get(&partition).is_some_and(|end| offset < *end);
                    if !in_tail && !follow {
                        // Past the end taken at the start: a bounded read stops there.
                    } else if last.is_some() && in_tail {
                        tails.push(message.detach());
                    } else if last.is_some() && !open.is_empty() {
                        // New records (with --follow) wait until the newest N are printed.
                        newer.push(message.detach());
                    } else if sender.blocking_send(message.detach()).is_err() {
                        return Ok(());
                    }
                    if in_tail && open.get(&partition).is_some_and(|end| offset + 1 >= *end) {
                        open.remove(&partition);
                        if open.is_empty()
                            && (!flush(&mut tails)
                                || !newer.drain(..).all(|m| sender.blocking_send(m).is_ok())
                                || !follow)
                        {
                            return Ok(());
                        }
                    }
                }
                Some(Err(error)) => return Err(error.into()),
                None => {}
            }
        }
    });
    let mut printed = 0usize;
    let stdout = std::io::stdout();
    while let Some(message) = receiver.recv().await {
        let value = match message.payload() {
            None => Json::Null,
            Some(bytes) => match codec.decode(bytes).await {
                Ok(decoded) if settings.values_only => avro_to_json(&decoded.value),
                Ok(decoded) => {
                    json!({"type": decoded.record, "schema_id": decoded.schema_id, "value": avro_to_json(&decoded.value)})
                }
                Err(error) => json!({"undecodable": error.to_string(), "bytes": bytes.len()}),
            },
        };
        let line = if settings.values_only {
            value
        } else {
            let mut headers = Map::new();
            if let Some(list) = message.headers() {
                for header in list.iter() {
                    let text = header.value.map(|v| String::from_utf8_lossy(v).into_owned());
                    headers.insert(header.key.to_string(), text.map_or(Json::Null, Json::String));
                }
            }
            let mut line = json!({
                "partition": message.partition(),
                "offset": message.offset(),
                "key": message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                "timestamp": message.timestamp().to_millis(),
                "headers": headers,
            });
            if let (Some(object), Json::Object(extra)) = (line.as_object_mut(), value) {
                object.extend(extra);
            }
            line
        };
        writeln!(stdout.lock(), "{line}").context("writing to standard output")?;
        printed += 1;
        if settings.max.is_some_and(|max| printed >= max) {
            break;
        }
    }
    drop(receiver);
    if settings.max.is_none_or(|max| printed < max) {
        reading.await.context("the reader stopped")??;
    }
    Ok(())
}
