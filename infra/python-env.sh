#!/usr/bin/env bash
# A Python environment with Confluent's client (confluent-kafka with its Avro serializer),
# used by the tests that prove other ecosystems' clients work with Clio, and schemathesis, the
# OpenAPI-driven fuzzer the gateway test runs against /openapi.json. Prints its python.
source "$(dirname "$0")/lib.sh"

venv="${CLIO_VENV:-$HOME/.cache/clio/venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import confluent_kafka.schema_registry.avro, fastavro, schemathesis" 2>/dev/null; then
  say "installing confluent-kafka[avro] and schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "confluent-kafka[avro,schemaregistry]==2.*" "schemathesis==4.*" >&2
fi
echo "$venv/bin/python"
