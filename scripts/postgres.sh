#!/usr/bin/env bash
# A throw-away PostgreSQL server for the web app's PostgreSQL test lane.
#
#   scripts/postgres.sh [start]   install Debian's server if missing, create the cluster once,
#                                 start it on 127.0.0.1:$PHT_PG_PORT, make sure the test role and
#                                 database exist, write the DATABASE_URL to .tools/postgres.url
#                                 and print it (fast when the server already runs)
#   scripts/postgres.sh stop      stop the server (the cluster's files stay for the next start)
#   scripts/postgres.sh status    say whether it runs; exit 0 when it does
#   scripts/postgres.sh url       print the DATABASE_URL
#   scripts/postgres.sh destroy   stop the server and delete the cluster's files
#
# The cluster lives in $PHT_PG_DIR (default /tmp/pht-postgres-$PHT_PG_PORT), owned by the
# `postgres` user when run as root (PostgreSQL refuses to run as root), listens on loopback only
# and trades durability for speed (fsync off): it holds test data, nothing else. Several clones
# of the project on one machine share it; each test run creates its own test database in it.
set -euo pipefail

PORT="${PHT_PG_PORT:-54329}"
BASE="${PHT_PG_DIR:-/tmp/pht-postgres-$PORT}"
DATA="$BASE/data"
ROLE="pht"
DB="pht"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
URL_FILE="${PHT_PG_URL_FILE:-$ROOT/.tools/postgres.url}"
LOG_DIR="$ROOT/.tools/logs"

say() { echo "postgres.sh: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

# Run a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  fi
}

install_server() {
  if [ -n "$(bindir)" ]; then
    return
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "the PostgreSQL server is missing and sudo is not available"
    sudo="sudo"
  fi
  mkdir -p "$LOG_DIR"
  local log="$LOG_DIR/postgres-apt.log"
  say "installing Debian's postgresql server (log: $log)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq postgresql; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get could not install postgresql (see $log)"
  fi
  [ -n "$(bindir)" ] || die "postgresql installed but no server binaries under /usr/lib/postgresql"
}

running() {
  local bin="$1"
  [ -f "$DATA/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

init_cluster() {
  local bin="$1"
  if [ -f "$DATA/PG_VERSION" ]; then
    return
  fi
  say "creating a throw-away cluster in $DATA"
  mkdir -p "$BASE"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$BASE"
  fi
  chmod 700 "$BASE"
  # The test role's password: random, kept beside the cluster (readable by its owner only).
  local password
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  (umask 077 && echo "$password" >"$BASE/password")
  as_owner "$bin/initdb" -D "$DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >"$BASE/initdb.log" 2>&1 ||
    die "initdb failed (see $BASE/initdb.log)"
  as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# pht test cluster: loopback only, a port of its own, speed over durability.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$BASE'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 64MB
log_min_messages = warning
EOF
}

start_server() {
  local bin="$1"
  if running "$bin"; then
    return
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "port $PORT is taken by another program; set PHT_PG_PORT to a free port"
  fi
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -t 60 start >/dev/null ||
    {
      tail -n 20 "$BASE/server.log" >&2 || true
      die "the server did not start (see $BASE/server.log)"
    }
}

ensure_role_and_db() {
  local bin="$1" password
  password="$(cat "$BASE/password")"
  as_owner "$bin/psql" -h "$BASE" -p "$PORT" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
    -v role="$ROLE" -v db="$DB" -v password="$password" >/dev/null <<'EOF'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
EOF
}

# Test runs name their database test_pht_<pid>; drop those whose run no longer exists.
drop_stale_test_databases() {
  local bin="$1" name pid
  for name in $(as_owner "$bin/psql" -h "$BASE" -p "$PORT" -U postgres -d postgres -qAt -c \
    "SELECT datname FROM pg_database WHERE datname ~ '^test_${DB}_[0-9]+\$'"); do
    pid="${name##*_}"
    if ! kill -0 "$pid" 2>/dev/null; then
      as_owner "$bin/dropdb" -h "$BASE" -p "$PORT" -U postgres --if-exists "$name" 2>/dev/null ||
        true
    fi
  done
}

url() {
  [ -f "$BASE/password" ] || die "no cluster in $BASE yet; run scripts/postgres.sh start"
  echo "postgres://$ROLE:$(cat "$BASE/password")@127.0.0.1:$PORT/$DB"
}

cmd_start() {
  install_server
  local bin
  bin="$(bindir)"
  mkdir -p "$(dirname "$BASE")"
  # One start at a time: two test runs starting together must not both run initdb.
  exec 9>"$BASE.lock"
  flock 9
  init_cluster "$bin"
  start_server "$bin"
  ensure_role_and_db "$bin"
  drop_stale_test_databases "$bin"
  flock -u 9
  mkdir -p "$(dirname "$URL_FILE")"
  (umask 077 && url >"$URL_FILE")
  say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') runs on 127.0.0.1:$PORT" \
    "(cluster $DATA); DATABASE_URL in $URL_FILE"
  url
}

cmd_stop() {
  local bin
  bin="$(bindir)"
  if [ -n "$bin" ] && running "$bin"; then
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    say "stopped the server on port $PORT"
  else
    say "no server runs from $DATA"
  fi
}

cmd_status() {
  local bin
  bin="$(bindir)"
  if [ -n "$bin" ] && running "$bin"; then
    say "runs on 127.0.0.1:$PORT (cluster $DATA)"
  else
    say "not running (start it with scripts/postgres.sh start)"
    return 1
  fi
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) url ;;
  destroy)
    cmd_stop
    rm -rf "$BASE" "$BASE.lock"
    if grep -q "@127.0.0.1:$PORT/" "$URL_FILE" 2>/dev/null; then
      rm -f "$URL_FILE"
    fi
    say "deleted $BASE"
    ;;
  *)
    echo "usage: $0 [start|stop|status|url|destroy]" >&2
    exit 2
    ;;
esac
