//! Producing records and reading whole topics back, as tests need to.

use std::time::Duration;

use crate::tally::TallyEvent;
use clio_aggregate::RecordSet;
use clio_runtime::codec::Codec;
use clio_runtime::kafka;
use clio_runtime::settings::KafkaSettings;
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Produces records as an integrator would: keyed, murmur2-partitioned.
pub async fn produce<T: RecordSet>(kafka: &KafkaSettings, codec: &Codec, topic: &str, records: &[(String, T)]) {
    let producer: FutureProducer = kafka::producer(kafka).expect("producer");
    for (key, record) in records {
        let payload = codec.encode(topic, record).await.expect("encode");
        producer
            .send(FutureRecord::to(topic).key(key.as_str()).payload(&payload), Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)
            .expect("produce");
    }
}

/// Produces raw bytes to one partition, with an optional key and headers.
pub async fn produce_raw(
    kafka: &KafkaSettings,
    topic: &str,
    partition: Option<i32>,
    key: Option<&str>,
    payload: &[u8],
    headers: &[(&str, &str)],
) {
    let producer: FutureProducer = kafka::producer(kafka).expect("producer");
    let mut owned = OwnedHeaders::new();
    for (k, v) in headers {
        owned = owned.insert(Header { key: k, value: Some(*v) });
    }
    let mut record = FutureRecord::<str, [u8]>::to(topic).payload(payload).headers(owned);
    if let Some(partition) = partition {
        record = record.partition(partition);
    }
    if let Some(key) = key {
        record = record.key(key);
    }
    producer.send(record, Duration::from_secs(30)).await.map_err(|(e, _)| e).expect("produce raw");
}

/// Every record of every partition of a topic, partition by partition, in offset order.
pub async fn read_all(kafka: &KafkaSettings, topic: &str) -> Vec<OwnedMessage> {
    let settings = kafka.clone();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let reader = kafka::reader(&settings).expect("reader");
        let partitions = kafka::partition_count(&reader, &topic).expect("partitions");
        let mut all = Vec::new();
        for partition in 0..partitions {
            kafka::read_partition(&reader, &topic, partition, 0, |m| all.push(m)).expect("read");
        }
        all
    })
    .await
    .expect("reader task")
}

/// The tally events on a topic with their ids and keys.
pub async fn tally_events(kafka: &KafkaSettings, codec: &Codec, topic: &str) -> Vec<(i32, String, String, TallyEvent)> {
    let mut out = Vec::new();
    for message in read_all(kafka, topic).await {
        let event = codec.decode_as::<TallyEvent>(message.payload().expect("payload")).await.expect("decodes");
        let id = clio_runtime::headers::get(&message, clio_runtime::headers::EVENT_ID).unwrap_or_default().to_string();
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        out.push((message.partition(), id, key, event));
    }
    out
}

/// Polls `check` until it returns true or `seconds` pass.
pub async fn eventually(seconds: u64, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    false
}

/// Produces events as a processor would: keyed, with their `clio.event-id` header.
pub async fn produce_events(
    kafka: &KafkaSettings,
    codec: &Codec,
    topic: &str,
    events: &[(String, String, TallyEvent)],
) {
    let producer: FutureProducer = kafka::producer(kafka).expect("producer");
    let mut deliveries = Vec::new();
    for (key, id, event) in events {
        let payload = codec.encode(topic, event).await.expect("encode");
        let headers = OwnedHeaders::new().insert(Header { key: clio_runtime::headers::EVENT_ID, value: Some(id) });
        let record = FutureRecord::to(topic).key(key.as_str()).payload(&payload).headers(headers);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).expect("queued"));
    }
    for delivery in deliveries {
        delivery.await.expect("delivered").map_err(|(e, _)| e).expect("acknowledged");
    }
}
