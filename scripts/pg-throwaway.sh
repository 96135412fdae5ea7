# Sourced by scripts/test.sh and bench scripts: a PostgreSQL 15 server on 127.0.0.1 in a temp
# directory, for one run. Exports CSB_RELAY_TEST_PG (a postgres:// URL) while it runs.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# A free port unless PG_PORT is set, so several runs (or a developer's own server) don't collide.
pg_free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_throwaway_start() {
  PG_PORT=${PG_PORT:-$(pg_free_port)}
  PG_DIR=$(mktemp -d /tmp/csb-relay-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; return 1; }
  pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=on -c max_connections=200" start >/dev/null \
    || { cat "$PG_DIR/server.log"; return 1; }
  export CSB_RELAY_TEST_PG="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "== PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

pg_throwaway_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$PG_DIR"
  PG_DIR=
}
