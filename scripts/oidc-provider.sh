#!/usr/bin/env bash
# A local OpenID Connect provider (npm's oidc-provider, as HelseID behaves) for the sign-in tests.
#
#   scripts/oidc-provider.sh [start]   install Debian's nodejs and npm if missing, install the
#                                      pinned provider (scripts/oidc/package-lock.json, `npm ci`),
#                                      start it on 127.0.0.1:$PHT_OIDC_PORT, wait until it answers
#                                      and write its settings to .tools/oidc.json (fast when it runs)
#   scripts/oidc-provider.sh stop      stop it
#   scripts/oidc-provider.sh status    say whether it runs; exit 0 when it does
#   scripts/oidc-provider.sh config    print .tools/oidc.json
#
# Its keys (its own signing key and pht's client key for private_key_jwt) live in
# $PHT_OIDC_STATE (default /tmp/pht-oidc-$PHT_OIDC_PORT); several clones of the project on one
# machine share one provider, as they share the PostgreSQL test server. Test data only.
set -euo pipefail

PORT="${PHT_OIDC_PORT:-54330}"
STATE="${PHT_OIDC_STATE:-/tmp/pht-oidc-$PORT}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
APP="$ROOT/scripts/oidc"
LOG_DIR="$ROOT/.tools/logs"
CONFIG="$ROOT/.tools/oidc.json"
PIDFILE="$STATE/provider.pid"
ISSUER="http://127.0.0.1:$PORT"

say() { echo "oidc-provider.sh: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

answers() {
  python3 - "$ISSUER/.well-known/openid-configuration" <<'PY' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if b'"issuer"' in r.read() else 1)
PY
}

install_node() {
  if command -v node >/dev/null && command -v npm >/dev/null; then
    return
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "node and npm are missing and sudo is not available"
    sudo="sudo"
  fi
  mkdir -p "$LOG_DIR"
  local log="$LOG_DIR/oidc-apt.log"
  say "installing Debian's nodejs and npm (log: $log)"
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq nodejs npm; } >"$log" 2>&1; then
    die "apt-get could not install nodejs and npm (see $log)"
  fi
}

install_provider() {
  if [ -f "$APP/node_modules/oidc-provider/package.json" ] \
    && [ "$APP/node_modules/.package-lock.json" -nt "$APP/package-lock.json" ]; then
    return
  fi
  mkdir -p "$LOG_DIR"
  local log="$LOG_DIR/oidc-npm.log"
  say "installing the pinned oidc-provider (npm ci; log: $log)"
  (cd "$APP" && npm ci --no-audit --no-fund) >"$log" 2>&1 || die "npm ci failed (see $log)"
}

write_config() {
  mkdir -p "$(dirname "$CONFIG")"
  cp "$STATE/oidc.json" "$CONFIG"
}

start() {
  if answers; then
    [ -f "$STATE/oidc.json" ] || die "a server answers on $ISSUER but $STATE/oidc.json is missing"
    write_config
    cat "$CONFIG"
    return
  fi
  install_node
  install_provider
  mkdir -p "$STATE" "$LOG_DIR"
  rm -f "$STATE/oidc.json"
  PHT_OIDC_PORT="$PORT" PHT_OIDC_STATE="$STATE" \
    nohup node "$APP/provider.js" >"$LOG_DIR/oidc-provider.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if answers && [ -f "$STATE/oidc.json" ]; then
      write_config
      cat "$CONFIG"
      return
    fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || die "the provider stopped (see $LOG_DIR/oidc-provider.log)"
    sleep 0.2
  done
  die "the provider did not answer on $ISSUER within 20 s (see $LOG_DIR/oidc-provider.log)"
}

stop() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill "$(cat "$PIDFILE")"
    rm -f "$PIDFILE"
    say "stopped"
  else
    say "not running (started elsewhere, or not at all)"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if answers; then
      say "running at $ISSUER"
    else
      say "not running"
      exit 1
    fi
    ;;
  config) cat "$CONFIG" ;;
  *) die "usage: $0 [start|stop|status|config]" ;;
esac
