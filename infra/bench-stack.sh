#!/usr/bin/env bash
# Runs a command against the benchmark stack: Postgres (database clio_bench) and a fresh broker
# of its own on BENCH_BROKER_PORT (its log in database clio_benchbroker), stopped at the end
# whatever the outcome. The command finds them in CLIO_BENCH_DATABASE_URL and CLIO_BENCH_BROKERS.
#   bench-stack.sh COMMAND [ARGS...]
source "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: bench-stack.sh COMMAND [ARGS...]"
port=${BENCH_BROKER_PORT:-19292}
server=$("$ROOT/infra/postgres.sh")
export CLIO_BENCH_DATABASE_URL="${CLIO_BENCH_DATABASE_URL:-$server/clio_bench}"
"$ROOT/infra/broker.sh" reset benchbroker
"$ROOT/infra/broker.sh" start benchbroker "$port"
trap '"$ROOT/infra/broker.sh" stop benchbroker' EXIT
export CLIO_BENCH_BROKERS="127.0.0.1:$port"
CLIO_BENCH_BROKER_VERSION="$("$(nisshi_bin)" --version 2>/dev/null | head -n1 || true)"
export CLIO_BENCH_BROKER_VERSION
"$@"
