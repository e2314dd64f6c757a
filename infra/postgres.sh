#!/usr/bin/env bash
# Prints a Postgres server URL (without a database) that answers, making one answer if needed:
#   1. CLIO_DATABASE_URL's server, if set;
#   2. else the local server on 127.0.0.1:5432 (CLIO_LOCAL_PG_PORT);
#   3. else a private cluster under .data/postgres on port 5433 (CLIO_PRIVATE_PG_PORT), started
#      if stopped, created if missing, from the installed Postgres binaries (installed if missing).
source "$(dirname "$0")/lib.sh"

if [ -n "${CLIO_DATABASE_URL:-}" ]; then
  echo "${CLIO_DATABASE_URL%/*}"
  exit 0
fi
local_port=${CLIO_LOCAL_PG_PORT:-5432}
if port_open 127.0.0.1 "$local_port"; then
  echo "postgres://postgres@127.0.0.1:$local_port"
  exit 0
fi

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bindir" ]; then
  apt_install postgresql
  bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
cluster="$DATA/postgres"
port=${CLIO_PRIVATE_PG_PORT:-5433}
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$cluster/PG_VERSION" ]; then
  say "creating a private Postgres cluster in $cluster"
  mkdir -p "$cluster"
  [ "$(id -u)" = 0 ] && chown postgres "$cluster"
  run_pg "$bindir/initdb" -D "$cluster" -U postgres --auth=trust >/dev/null
fi
if ! port_open 127.0.0.1 "$port"; then
  say "starting the private Postgres cluster on port $port"
  run_pg "$bindir/pg_ctl" -D "$cluster" -l "$cluster/server.log" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port"
