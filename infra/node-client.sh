#!/usr/bin/env bash
# Installs kafkajs (the most used Node.js Kafka client), Confluent's schema-registry codec for it
# and avsc (the Avro library under that codec) from npm when missing, in
# ~/.cache/clio/node-client, and prints that directory. The tests use them to prove a Node.js
# integrator reads Clio's topics with stock packages (no compression plug-in). Versions are
# pinned here; no lockfile is written.
source "$(dirname "$0")/lib.sh"

dir="${CLIO_NODE_CLIENT:-$HOME/.cache/clio/node-client}"
npm_tools "$dir" .installed-kafkajs-2.2.4-registry-4.1.0-avsc-5.7.9 "kafkajs and its schema-registry codec" \
  kafkajs@2.2.4 @kafkajs/confluent-schema-registry@4.1.0 avsc@5.7.9
echo "$dir"
