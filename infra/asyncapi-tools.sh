#!/usr/bin/env bash
# Installs the official AsyncAPI parser, its Avro schema parser and the AsyncAPI React component
# (whose standalone browser bundle renders asyncapi/html) from npm when missing, in
# ~/.cache/clio/asyncapi-tools, and prints that directory. No lockfile is written: versions are
# pinned here.
source "$(dirname "$0")/lib.sh"

tools="${CLIO_ASYNCAPI_TOOLS:-$HOME/.cache/clio/asyncapi-tools}"
packages=("@asyncapi/parser@3.6.3" "@asyncapi/avro-schema-parser@3.0.24" "@asyncapi/react-component@3.2.1")
marker="$tools/.installed-3.6.3-react-3.2.1"
if [ ! -f "$marker" ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  say "installing the AsyncAPI parser and React component (npm) into $tools"
  mkdir -p "$tools"
  (cd "$tools" && [ -f package.json ] || echo '{"name": "clio-asyncapi-tools", "private": true, "type": "module"}' > "$tools/package.json")
  (cd "$tools" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "${packages[@]}" >&2)
  touch "$marker"
fi
echo "$tools"
