#!/usr/bin/env bash
# Installs the official AsyncAPI parser, its Avro schema parser and the AsyncAPI React component
# (whose standalone browser bundle renders asyncapi/html) from npm when missing, in
# ~/.cache/clio/asyncapi-tools, and prints that directory. No lockfile is written: versions are
# pinned here.
source "$(dirname "$0")/lib.sh"

tools="${CLIO_ASYNCAPI_TOOLS:-$HOME/.cache/clio/asyncapi-tools}"
# ES modules: render.mjs and validate.mjs import these packages.
mkdir -p "$tools"
[ -f "$tools/package.json" ] || echo '{"name": "clio-asyncapi-tools", "private": true, "type": "module"}' > "$tools/package.json"
npm_tools "$tools" .installed-3.6.3-react-3.2.1 "the AsyncAPI parser and React component" \
  @asyncapi/parser@3.6.3 @asyncapi/avro-schema-parser@3.0.24 @asyncapi/react-component@3.2.1
echo "$tools"
