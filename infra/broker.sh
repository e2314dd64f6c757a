#!/usr/bin/env bash
# Starts or stops a nisshi broker whose log is stored in Postgres, so it survives restarts.
#   broker.sh start NAME PORT   (storage database clio_NAME; pid and log in .data/NAME-broker.*)
#   broker.sh stop NAME
#   broker.sh reset NAME        (stop, and drop its storage: a fresh, empty log)
source "$(dirname "$0")/lib.sh"

action=${1:?start|stop|reset}
name=${2:?broker name}
pidfile="$DATA/$name-broker.pid"
logfile="$DATA/$name-broker.log"
storage_db="clio_$name"

stop() {
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  fi
}

server=$("$(dirname "$0")/postgres.sh")
host_port=${server#*@}
pg_port=${host_port##*:}

case "$action" in
  stop) stop ;;
  reset)
    stop
    psql "$server/postgres" -qtc "DROP DATABASE IF EXISTS $storage_db WITH (FORCE)" >/dev/null
    ;;
  start)
    port=${3:?port}
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && port_open 127.0.0.1 "$port"; then
      exit 0
    fi
    port_open 127.0.0.1 "$port" && die "port $port is taken by another process"
    "$(dirname "$0")/install-broker.sh"
    psql "$server/postgres" -qtc "SELECT 1 FROM pg_database WHERE datname = '$storage_db'" | grep -q 1 \
      || psql "$server/postgres" -qc "CREATE DATABASE $storage_db" >/dev/null
    # A local socket over loopback: no TLS, whose encryption cost the broker's every write (the
    # server offers TLS, and nisshi would use it).
    storage="postgres://postgres:postgres@localhost:$pg_port/$storage_db?sslmode=disable"
    setsid "$(nisshi_bin)" broker \
      --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "$storage" --group-initial-rebalance-delay "${CLIO_GROUP_INITIAL_DELAY:-500ms}" \
      >"$logfile" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    wait_for_port 127.0.0.1 "$port" 60 || die "the broker did not start; see $logfile"
    ;;
  *) die "unknown action $action" ;;
esac
