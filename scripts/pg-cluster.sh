#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temporary folder, a free
# port on 127.0.0.1, trust authentication, the server's default durability settings (benchmarks
# measure what a default server does) unless started with start-fast.
#
#   scripts/pg-cluster.sh start [dir]          starts it; prints the DATABASE_URL of its "circle" database
#   scripts/pg-cluster.sh start-fast [dir]     the same without fsync (test suites: a test database
#                                              is created and dropped per test; durability against
#                                              a crash of PostgreSQL itself is not what they test)
#   scripts/pg-cluster.sh stop  [dir]          stops it and removes the folder
#
# The binaries come from Debian's `postgresql` package (/usr/lib/postgresql/<version>/bin).
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail

cmd="${1:-}"
dir="${2:-${TMPDIR:-/tmp}/circle-pg}"

bindir() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$d" ]; then
    echo "PostgreSQL is not installed (Debian: apt-get install postgresql)" >&2
    exit 1
  fi
  echo "$d"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case "$cmd" in
  start | start-fast)
    bin="$(bindir)"
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U circle -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    port="$(free_port)"
    echo "$port" >"$dir/port"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/port"
    # Enough connections for the test suites (each test database has a pool of a few, and the
    # multi-instance tests run several bot processes).
    opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300"
    if [ "$cmd" = start-fast ]; then
      opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >/dev/null
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U circle circle
    echo "postgresql://circle@127.0.0.1:$port/circle"
    ;;
  stop)
    bin="$(bindir)"
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|start-fast|stop [dir]" >&2
    exit 2
    ;;
esac
