#!/usr/bin/env bash
# Installs the nisshi broker (an Apache Kafka protocol broker) when it is missing.
# The first install compiles it: about 15-25 minutes on 2 cores, once; it then stays in ~/.cargo/bin.
source "$(dirname "$0")/lib.sh"

bin="$(nisshi_bin)"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$NISSHI_VERSION"; then
  exit 0
fi
command -v cargo >/dev/null || die "cargo is needed to install the broker"
say "installing the nisshi $NISSHI_VERSION broker (first time only: it compiles for 15-25 minutes)"
# --ignore-rust-version: one dependency declares rustc 1.96; it builds and runs with 1.95.
cargo install "nisshi@$NISSHI_VERSION" --locked --ignore-rust-version
