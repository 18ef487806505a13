#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server, runs the given commands against it,
# and stops it (from a trap, so also on failure or interruption).
#
#   run_pg_tests.sh [--durable] COMMAND [ARGS...] [--- COMMAND [ARGS...]]...
#
# The server: initdb into a short mktemp directory under /tmp (its unix socket
# path must fit in 107 bytes), listening only on its unix socket there
# (listen_addresses=''), run as the postgres user via runuser when we are root
# (initdb refuses root). Without --durable, fsync is off (tests need no power
# loss safety); --durable keeps fsync and synchronous_commit on (the bench).
# Each command sees:
#   ESTORIA_TEST_PG        the base URI, e.g. postgresql:///postgres?host=/tmp/estpg.X&user=postgres
#   ESTORIA_TEST_PG_STOP   a shell command that stops the server (fast shutdown)
#   ESTORIA_TEST_PG_START  a shell command that starts it again
# Exits 77 (skipped) when no PostgreSQL server binaries are installed.
set -euo pipefail

durable=0
if [ "${1:-}" = "--durable" ]; then durable=1; shift; fi

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && bindir="$d"
done
if [ -z "$bindir" ]; then
  echo "run_pg_tests: no PostgreSQL server binaries (apt-get install postgresql): skipped" >&2
  exit 77
fi

dir="$(mktemp -d /tmp/estpg.XXXXXX)"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
ctl() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" "$@"; }
cleanup() {
  ctl stop -m immediate >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
{
  echo "listen_addresses = ''"
  echo "unix_socket_directories = '$dir'"
  echo "max_connections = 200"
  echo "shared_buffers = 128MB"
  if [ "$durable" -eq 1 ]; then
    echo "fsync = on"
    echo "synchronous_commit = on"
  else
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
  fi
} >>"$dir/data/postgresql.conf"

start_cmd="$(printf '%q ' "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start)"
stop_cmd="$(printf '%q ' "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop)"
eval "$start_cmd" >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export ESTORIA_TEST_PG="postgresql:///postgres?host=$dir&user=postgres"
export ESTORIA_TEST_PG_START="$start_cmd >/dev/null"
export ESTORIA_TEST_PG_STOP="$stop_cmd >/dev/null"
export PATH="$PATH:$bindir"

# Run each "---"-separated command; the first failure is the result.
status=0
cmd=()
run() {
  if [ ${#cmd[@]} -gt 0 ]; then
    "${cmd[@]}" || status=$?
    # A command that stopped the server leaves it to us to bring it back.
    eval "$start_cmd" >/dev/null 2>&1 || true
    cmd=()
  fi
}
for arg in "$@"; do
  if [ "$arg" = "---" ]; then run; else cmd+=("$arg"); fi
  [ "$status" -eq 0 ] || break
done
[ "$status" -eq 0 ] && run
exit "$status"
