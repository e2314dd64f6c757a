"""Confluent's Python registry client registering a schema, with or without a key.

    registry_auth.py REGISTRY SUBJECT [USER:KEY]

Prints `registered <id>`, or `refused <http status> <error code> <message>`.
"""
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

SCHEMA = '{"type":"record","name":"Probe","namespace":"clio.test","fields":[{"name":"n","type":"long"}]}'

url, subject = sys.argv[1], sys.argv[2]
conf = {"url": url}
if len(sys.argv) > 3:
    conf["basic.auth.user.info"] = sys.argv[3]
client = SchemaRegistryClient(conf)
try:
    print(f"registered {client.register_schema(subject, Schema(SCHEMA, 'AVRO'))}")
except SchemaRegistryError as error:
    print(f"refused {error.http_status_code} {error.error_code} {error.error_message}")
