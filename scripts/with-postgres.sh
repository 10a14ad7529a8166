#!/usr/bin/env bash
# Run a command beside a throw-away PostgreSQL server.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# Installs Debian's `postgresql` when missing (needs root), creates a cluster in a temp dir,
# starts it on 127.0.0.1:${HCCBM_PG_PORT:-55432} (unix socket in the temp dir), creates a database,
# exports HCCBM_TEST_POSTGRES_URL=postgresql+psycopg://... and runs COMMAND.
# Server settings: HCCBM_PG_SETTINGS (default "-c fsync=off" for tests; benchmarks pass
# "-c synchronous_commit=off", the analogue of SQLite's WAL synchronous=NORMAL).
# The server is stopped and the temp dir removed on exit, whatever happens.
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${HCCBM_PG_PORT:-55432}"
SETTINGS="${HCCBM_PG_SETTINGS:--c fsync=off}"

find_bin() {
  local name="$1" dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return; fi
  done
}

if [ -z "$(find_bin initdb)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing postgresql from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is not installed and this is not root with apt-get; skipping" >&2
    exit 0
  fi
fi
INITDB="$(find_bin initdb)"
PG_CTL="$(find_bin pg_ctl)"
BIN_DIR="$(dirname "$(readlink -f "$INITDB")")"
CREATEDB="$BIN_DIR/createdb"

WORK="$(mktemp -d /tmp/hccbm-pg.XXXXXX)"
# PostgreSQL refuses to run as root: use the `postgres` account then.
if [ "$(id -u)" = 0 ]; then
  chown postgres "$WORK"
  AS=(runuser -u postgres --)
else
  AS=()
fi

cleanup() {
  "${AS[@]}" "$PG_CTL" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

"${AS[@]}" "$INITDB" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS[@]}" "$PG_CTL" -D "$WORK/data" -l "$WORK/server.log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 $SETTINGS -c max_connections=200" start >/dev/null
"${AS[@]}" "$CREATEDB" -h 127.0.0.1 -p "$PORT" -U postgres hccbm_test

export HCCBM_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:${PORT}/hccbm_test"
echo "PostgreSQL $("$BIN_DIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
"$@"
