#!/usr/bin/env bash
# scripts/postgres.sh start|stop|url — a throwaway PostgreSQL on 127.0.0.1 for tests
# (Debian's package; installs it if missing). Data in ${PG_DIR:-/tmp/callsign-pg},
# port ${PG_PORT:-55432}; user, password and database: callsign. PostgreSQL refuses
# to run as root, so as root the server runs as the 'postgres' system user.
# `start` prints the URL last; `stop -m immediate` is PG_STOP_MODE=immediate.
set -eu
PG_DIR=${PG_DIR:-/tmp/callsign-pg}; PG_PORT=${PG_PORT:-55432}
url() { echo "postgres://callsign:callsign@127.0.0.1:$PG_PORT/callsign"; }
bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
start() {
  if [ -z "$(bin)" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
  fi
  B=$(bin)
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    mkdir -p "$PG_DIR"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
    as_pg "$B/initdb -D '$PG_DIR' -U postgres -A trust >/dev/null"
  fi
  if ! as_pg "$B/pg_ctl -D '$PG_DIR' status" >/dev/null 2>&1; then
    as_pg "$B/pg_ctl -D '$PG_DIR' -l '$PG_DIR/server.log' -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p $PG_PORT -k /tmp\" start" >/dev/null
  fi
  as_pg "$B/psql -h 127.0.0.1 -p $PG_PORT -U postgres -tAc \"SELECT 1 FROM pg_roles WHERE rolname='callsign'\"" | grep -q 1 ||
    as_pg "$B/psql -h 127.0.0.1 -p $PG_PORT -U postgres -qc \"CREATE ROLE callsign LOGIN PASSWORD 'callsign' CREATEDB\""
  as_pg "$B/psql -h 127.0.0.1 -p $PG_PORT -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='callsign'\"" | grep -q 1 ||
    as_pg "$B/psql -h 127.0.0.1 -p $PG_PORT -U postgres -qc \"CREATE DATABASE callsign OWNER callsign\""
  url
}
stop() {
  B=$(bin)
  [ -n "$B" ] && [ -f "$PG_DIR/PG_VERSION" ] && as_pg "$B/pg_ctl -D '$PG_DIR' -m ${PG_STOP_MODE:-fast} -w stop" >/dev/null 2>&1 || true
}
case "${1:-}" in start) start ;; stop) stop ;; url) url ;; *) echo "usage: $0 start|stop|url" >&2; exit 2 ;; esac
