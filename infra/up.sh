#!/usr/bin/env bash
# `make up`: the embedded default platform in the foreground. Ctrl-C stops it all.
#   1. Postgres: CLIO_DATABASE_URL, else the local server, else a private cluster in .data/;
#   2. the nisshi broker (installed when missing), its log stored in Postgres (database
#      clio_broker), so topic contents survive a restart;
#   3. the AsyncAPI documentation rendered into asyncapi/html (npm tools installed when missing);
#   4. `clio up`: database and registry tables, topics, schema registry, schemas, processors,
#      projectors, the ledger's clock and the HTTP gateway in one process, with demo data (a
#      seeded debtor and a stream of transfers; CLIO_DEMO=0 turns it off).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

started=$(date +%s)
server=$(infra/postgres.sh)
export CLIO_DATABASE_URL="${CLIO_DATABASE_URL:-$server/clio}"
export CLIO_BROKERS="${CLIO_BROKERS:-127.0.0.1:9092}"
export CLIO_DEMO="${CLIO_DEMO:-1}"
# The tracker webhook's secret (the webhook refuses everything without one): made once per
# checkout for the demo, unless one is set.
if [ -z "${CLIO_ORDERS_WEBHOOK_SECRET:-}" ]; then
  mkdir -p .data
  [ -s .data/orders-webhook-secret ] || od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > .data/orders-webhook-secret
  CLIO_ORDERS_WEBHOOK_SECRET="$(cat .data/orders-webhook-secret)"
fi
export CLIO_ORDERS_WEBHOOK_SECRET
# The sandbox's marketplace and tracker outlive a restart, as real ones do (Clio's state does).
export CLIO_SANDBOX_STATE="${CLIO_SANDBOX_STATE:-$ROOT/.data/sandbox.json}"
broker_port=${CLIO_BROKERS##*:}

say "building clio"
cargo build --quiet --bin clio

say "rendering the AsyncAPI documentation (asyncapi/html, served at /docs/)"
CLIO_ASYNCAPI_TOOLS="$(infra/asyncapi-tools.sh)" node asyncapi/render.mjs asyncapi/asyncapi.yaml asyncapi/html >/dev/null

own_broker=0
if [ "${CLIO_EXTERNAL_BROKER:-0}" != 1 ]; then
  say "starting the broker on $CLIO_BROKERS (log: .data/broker-broker.log)"
  infra/broker.sh start broker "$broker_port"
  own_broker=1
fi

stop_all() {
  trap - INT TERM EXIT
  if [ -n "${clio_pid:-}" ] && kill -0 "$clio_pid" 2>/dev/null; then
    kill -TERM "$clio_pid" 2>/dev/null || true
    wait "$clio_pid" 2>/dev/null || true
  fi
  if [ "$own_broker" = 1 ]; then
    say "stopping the broker"
    infra/broker.sh stop broker
  fi
}
trap stop_all INT TERM EXIT

say "starting clio up (set-up took $(( $(date +%s) - started )) s before it)"
"${CARGO_TARGET_DIR:-target}/debug/clio" up &
clio_pid=$!
wait "$clio_pid"
