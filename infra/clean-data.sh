#!/usr/bin/env bash
# `make clean-data`: forgets everything `make up` made, all together: the broker's log (kept in
# Postgres), Clio's database (read models, registry), and .data (the sandbox's marketplace and
# tracker, the webhook secret, logs, a private Postgres cluster). Removing only a part leaves
# Clio remembering orders, issues or offsets the rest has forgotten.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

server=$(infra/postgres.sh)
infra/broker.sh reset broker
# make test's broker starts from an empty log on every run anyway; its database may be another
# checkout's run in progress.
infra/broker.sh stop testbroker
database=clio
if [ -n "${CLIO_DATABASE_URL:-}" ]; then database=${CLIO_DATABASE_URL##*/}; fi
say "dropping the database $database"
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null
cluster="$DATA/postgres"
if [ -f "$cluster/postmaster.pid" ]; then
  bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bindir/pg_ctl" -D "$cluster" -w stop >/dev/null
  else "$bindir/pg_ctl" -D "$cluster" -w stop >/dev/null; fi
fi
rm -rf "$DATA"
say "clean: the next make up starts from nothing"
