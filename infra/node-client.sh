#!/usr/bin/env bash
# Installs kafkajs (the most used Node.js Kafka client), Confluent's schema-registry codec for it
# and avsc (the Avro library under that codec) from npm when missing, in ~/.cache/clio/node-client, and prints that directory. The tests
# use them to prove a Node.js integrator reads Clio's topics with stock packages (no
# compression plug-in). Versions are pinned here; no lockfile is written.
source "$(dirname "$0")/lib.sh"

dir="${CLIO_NODE_CLIENT:-$HOME/.cache/clio/node-client}"
packages=("kafkajs@2.2.4" "@kafkajs/confluent-schema-registry@4.1.0" "avsc@5.7.9")
marker="$dir/.installed-kafkajs-2.2.4-registry-4.1.0-avsc-5.7.9"
if [ ! -f "$marker" ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  say "installing kafkajs and @kafkajs/confluent-schema-registry (npm) into $dir"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name": "clio-node-client", "private": true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "${packages[@]}" >&2)
  touch "$marker"
fi
echo "$dir"
