//! The AsyncAPI 3 document of every topic, generated from the catalogue and the .avsc files:
//! channels with Kafka bindings (topic, partitions, cleanup policy), every record as a message
//! with its Avro schema (docs included) and key, every producer and consumer as an operation.
//! `asyncapi/asyncapi.yaml` is this document, checked in; `make test` fails when it is stale.

use serde_json::{Map, Value, json};

use crate::catalogue::{Catalogue, TopicSpec, ValueFormat};

/// Where the document says the embedded platform listens.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub brokers: String,
    pub registry_url: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self { brokers: "127.0.0.1:9092".into(), registry_url: "http://127.0.0.1:8081".into() }
    }
}

const KAFKA_BINDING: &str = "0.5.0";
const AVRO_FORMAT: &str = "application/vnd.apache.avro;version=1.9.0";

/// `shop.commands` -> `shopCommands`; `shop processor` -> `shopProcessor`.
fn camel(text: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if upper && !out.is_empty() {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// The part of a producer/consumer description before any parenthesis: its name.
fn part_name(text: &str) -> &str {
    text.split('(').next().unwrap_or(text).trim()
}

fn short_name(record: &str) -> &str {
    record.rsplit('.').next().unwrap_or(record)
}

fn message_ids(topic: &TopicSpec) -> Vec<(String, String)> {
    match topic.format {
        ValueFormat::Avro => topic.values.iter().map(|r| (short_name(r).to_string(), r.clone())).collect(),
        ValueFormat::Snapshot => vec![("Snapshot".to_string(), format!("{}.Snapshot", topic.name))],
        ValueFormat::Raw => vec![("DeadLetter".to_string(), format!("{}.DeadLetter", topic.name))],
    }
}

fn key_binding(topic: &TopicSpec) -> Value {
    json!({"type": "string", "description": topic.key})
}

fn message(catalogue: &Catalogue, topic: &TopicSpec, id: &str) -> Value {
    let key = key_binding(topic);
    match topic.format {
        ValueFormat::Avro => {
            let file = &catalogue.schemas[id];
            let schema: Value = serde_json::from_str(&file.text).unwrap_or(Value::Null);
            let doc = schema.get("doc").and_then(Value::as_str).unwrap_or("").to_string();
            json!({
                "name": short_name(id),
                "title": short_name(id),
                "summary": if doc.is_empty() { format!("{} record.", short_name(id)) } else { doc },
                "contentType": "application/octet-stream",
                "payload": {"schemaFormat": AVRO_FORMAT, "schema": schema},
                "bindings": {"kafka": {
                    "key": key,
                    "schemaIdLocation": "payload",
                    "schemaIdPayloadEncoding": "confluent",
                    "schemaLookupStrategy": "TopicRecordNameStrategy",
                    "bindingVersion": KAFKA_BINDING
                }}
            })
        }
        ValueFormat::Snapshot => json!({
            "name": "Snapshot",
            "title": "State snapshot",
            "summary": "A processor's cached state of one entity (JSON), or the partition checkpoint. Internal: safe to delete.",
            "contentType": "application/json",
            "payload": {"type": "object", "description": "The entity's state as the processor keeps it; its header clio.covers-offset names the events offset it covers."},
            "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING}}
        }),
        ValueFormat::Raw => json!({
            "name": "DeadLetter",
            "title": "Dead letter",
            "summary": "A record that could not be decoded or processed, its bytes unchanged. Headers: clio.dlq.topic, clio.dlq.partition, clio.dlq.offset, clio.dlq.reason, clio.dlq.consumer.",
            "contentType": "application/octet-stream",
            "payload": {"type": "string", "format": "binary", "description": "The original record's value."},
            "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING}}
        }),
    }
}

/// The whole document.
pub fn document(catalogue: &Catalogue, endpoints: &Endpoints) -> Value {
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for topic in &catalogue.topics {
        let channel_id = camel(&topic.name);
        let ids = message_ids(topic);
        let mut channel_messages = Map::new();
        for (short, id) in &ids {
            channel_messages.insert(short.clone(), json!({"$ref": format!("#/components/messages/{id}")}));
            messages.insert(id.clone(), message(catalogue, topic, id));
        }
        channels.insert(
            channel_id.clone(),
            json!({
                "address": topic.name,
                "title": topic.name,
                "description": topic.description,
                "messages": channel_messages,
                "bindings": {"kafka": {
                    "topic": topic.name,
                    "partitions": topic.partitions,
                    "replicas": 1,
                    "topicConfiguration": {
                        "cleanup.policy": [topic.cleanup_policy.as_kafka()],
                        "retention.ms": topic.retention.as_kafka().parse::<i64>().unwrap_or(-1),
                        "compression.type": topic.compression.as_kafka()
                    },
                    "bindingVersion": KAFKA_BINDING
                }}
            }),
        );
        let refs: Vec<Value> =
            ids.iter().map(|(short, _)| json!({"$ref": format!("#/channels/{channel_id}/messages/{short}")})).collect();
        for (parts, action, verb) in [(&topic.producers, "send", "Sends"), (&topic.consumers, "receive", "Receives")] {
            for part in parts {
                let name = part_name(part);
                operations.insert(
                    format!("{}{verb}{}", camel(name), capitalise(&channel_id)),
                    json!({
                        "action": action,
                        "channel": {"$ref": format!("#/channels/{channel_id}")},
                        "title": format!("{name} {} {}", verb.to_lowercase(), topic.name),
                        "summary": format!("{part}: {} {}.", if action == "send" { "produces to" } else { "consumes from" }, topic.name),
                        "description": topic.description,
                        "messages": refs
                    }),
                );
            }
        }
    }
    json!({
        "asyncapi": "3.1.0",
        "info": {
            "title": "Clio",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every topic of the Clio platform. Values are Confluent-framed Avro (magic byte 0, 4-byte schema id, Avro body); subjects are `<topic>-<full.record.Name>`. Keys are UTF-8 strings, partitioned by the Java client's murmur2 hash (librdkafka: partitioner=murmur2_random); a command on another partition is forwarded to the right one. Records are compressed as each channel's `compression.type` binding says: none or gzip on every topic integrators read, which every mainstream client (kafkajs included) reads with nothing extra installed. Generated from the catalogue (schemas/catalogue.toml and each domain's schemas/<domain>/catalogue.toml): do not edit by hand.",
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
            "contact": {"name": "Clio developers"}
        },
        "defaultContentType": "application/octet-stream",
        "servers": {
            "embedded": {
                "host": endpoints.brokers,
                "protocol": "kafka",
                "title": "Embedded broker",
                "description": "The broker `make up` starts, with the embedded schema registry.",
                "bindings": {"kafka": {
                    "schemaRegistryUrl": endpoints.registry_url,
                    "schemaRegistryVendor": "confluent",
                    "bindingVersion": KAFKA_BINDING
                }}
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages}
    })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// The document as YAML, as it is checked in.
pub fn yaml(catalogue: &Catalogue, endpoints: &Endpoints) -> Result<String, serde_norway::Error> {
    let body = serde_norway::to_string(&document(catalogue, endpoints))?;
    Ok(format!(
        "# Generated by `clio asyncapi` from the catalogue.toml and .avsc files under schemas/. Do not edit.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_asyncapi_identifiers() {
        assert_eq!(camel("shop.commands"), "shopCommands");
        assert_eq!(camel("platform.dead-letters"), "platformDeadLetters");
        assert_eq!(camel("shop processor"), "shopProcessor");
        assert_eq!(part_name("integrators (any Kafka client)"), "integrators");
    }

    #[test]
    fn every_topic_and_record_of_the_catalogue_is_in_the_document() {
        let catalogue =
            Catalogue::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas"))).unwrap();
        let document = document(&catalogue, &Endpoints::default());
        for topic in &catalogue.topics {
            let channel = &document["channels"][camel(&topic.name)];
            assert_eq!(channel["address"], topic.name.as_str());
            assert_eq!(channel["bindings"]["kafka"]["partitions"], topic.partitions);
            let configuration = &channel["bindings"]["kafka"]["topicConfiguration"];
            assert_eq!(configuration["compression.type"], topic.compression.as_kafka());
            for record in &topic.values {
                let message = &document["components"]["messages"][record.as_str()];
                assert_eq!(message["payload"]["schemaFormat"], AVRO_FORMAT);
                assert_eq!(message["payload"]["schema"]["name"], short_name(record));
            }
        }
    }
}

#[cfg(test)]
mod checked_in {
    use super::*;

    #[test]
    fn the_checked_in_document_matches_the_catalogue_and_schemas() {
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let catalogue = Catalogue::load(&root.join("schemas")).unwrap();
        let expected = yaml(&catalogue, &Endpoints::default()).unwrap();
        let current = std::fs::read_to_string(root.join("asyncapi/asyncapi.yaml")).unwrap_or_default();
        assert!(
            current == expected,
            "asyncapi/asyncapi.yaml is out of date with schemas/: run `make asyncapi` and commit it"
        );
    }
}
