"""Confluent's Python client (confluent-kafka with its Avro serializer) against Clio.

Used by the integration tests to prove that another ecosystem's client registers, produces
and consumes through Clio's registry and broker unchanged.

    confluent_client.py produce BROKERS REGISTRY TOPIC SCHEMA_FILE KEY JSON
    confluent_client.py consume BROKERS REGISTRY TOPIC COUNT
"""
import datetime
import json
import sys

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from confluent_kafka.schema_registry import topic_record_subject_name_strategy


def plain(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def typed(schema, document):
    """RFC 3339 text to datetime and YYYY-MM-DD to date where the schema says so."""
    out = dict(document)
    for field in json.loads(schema)["fields"]:
        kind = field["type"]
        logical = kind.get("logicalType") if isinstance(kind, dict) else None
        value = out.get(field["name"])
        if isinstance(value, str) and logical == "timestamp-micros":
            out[field["name"]] = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif isinstance(value, str) and logical == "date":
            out[field["name"]] = datetime.date.fromisoformat(value)
    return out


def produce(brokers, registry, topic, schema_file, key, document):
    client = SchemaRegistryClient({"url": registry})
    with open(schema_file) as f:
        schema = f.read()
    serializer = AvroSerializer(client, schema, conf={
        "auto.register.schemas": True,
        "subject.name.strategy": topic_record_subject_name_strategy,
    })
    producer = SerializingProducer({
        "bootstrap.servers": brokers,
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": serializer,
        "enable.idempotence": True,
    })
    delivered = []
    producer.produce(topic, key=key, value=typed(schema, json.loads(document)),
                     on_delivery=lambda err, msg: delivered.append((err, msg)))
    producer.flush(30)
    err, msg = delivered[0]
    if err is not None:
        raise SystemExit(f"delivery failed: {err}")
    print(json.dumps({"partition": msg.partition(), "offset": msg.offset()}))


def consume(brokers, registry, topic, count):
    client = SchemaRegistryClient({"url": registry})
    consumer = DeserializingConsumer({
        "bootstrap.servers": brokers,
        "group.id": f"python-{topic}",
        "auto.offset.reset": "earliest",
        "key.deserializer": StringDeserializer("utf_8"),
        "value.deserializer": AvroDeserializer(client),
    })
    consumer.subscribe([topic])
    seen = 0
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    while seen < count and datetime.datetime.now() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise SystemExit(f"consume failed: {msg.error()}")
        print(json.dumps({"key": msg.key(), "value": plain(msg.value())}))
        seen += 1
    consumer.close()
    if seen < count:
        raise SystemExit(f"only {seen} of {count} records arrived")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "produce":
        produce(*args)
    elif mode == "consume":
        consume(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit(__doc__)
