#!/usr/bin/env bash
# A Python environment with Confluent's client (confluent-kafka with its Avro serializer),
# used by the tests that prove other ecosystems' clients work with Clio. Prints its python.
source "$(dirname "$0")/lib.sh"

venv="${CLIO_VENV:-$HOME/.cache/clio/venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import confluent_kafka.schema_registry.avro, fastavro" 2>/dev/null; then
  say "installing confluent-kafka[avro] into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "confluent-kafka[avro,schemaregistry]==2.*" >&2
fi
echo "$venv/bin/python"
