#!/usr/bin/env bash
# pht's deployment files, rendered for a machine, and a local bring-up of the same setup.
#
#   scripts/deploy.sh render OUT    render deploy/*.in with the variables below into OUT:
#                                   nginx-pht.conf, pht-web.service, pht-refresh.{service,timer},
#                                   pht-backup.{service,timer}, logrotate-pht (docs/deploy.md)
#   scripts/deploy.sh local-up DIR  the documented setup on this machine without root's ports or
#                                   systemd: a self-signed certificate, the production settings
#                                   (PHT_ENV=production) in DIR/pht.env, migrate, collectstatic,
#                                   gunicorn with deploy/gunicorn.conf.py, Debian's nginx with the
#                                   rendered site on 127.0.0.1:$LOCAL_HTTPS_PORT (default 18443)
#   scripts/deploy.sh local-down DIR stop what local-up started
#
# Variables of `render` (defaults are a Debian server's): PHT_ROOT (this checkout), PHT_USER
# (pht), ENV_FILE (/etc/pht/pht.env), PHT_HOME (/var/lib/pht), LOG_DIR (/var/log/pht),
# STATIC_ROOT ($PHT_HOME/static), SERVER_NAME, HTTP_LISTEN (80), HTTPS_LISTEN (443),
# HTTPS_SUFFIX (":PORT" when HTTPS is not on 443), TLS_CERT, TLS_KEY, UPSTREAM
# (unix:/run/pht/web.sock), NGINX_LOG_DIR (/var/log/nginx).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
say() { echo "deploy.sh: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

render() {
  local out="$1"
  mkdir -p "$out"
  export PHT_ROOT="${PHT_ROOT:-$ROOT}" PHT_USER="${PHT_USER:-pht}" ENV_FILE="${ENV_FILE:-/etc/pht/pht.env}"
  export PHT_HOME="${PHT_HOME:-/var/lib/pht}" LOG_DIR="${LOG_DIR:-/var/log/pht}"
  export STATIC_ROOT="${STATIC_ROOT:-$PHT_HOME/static}" SERVER_NAME="${SERVER_NAME:-_}"
  export HTTP_LISTEN="${HTTP_LISTEN:-80}" HTTPS_LISTEN="${HTTPS_LISTEN:-443}" HTTPS_SUFFIX="${HTTPS_SUFFIX:-}"
  export TLS_CERT="${TLS_CERT:-/etc/ssl/certs/pht.pem}" TLS_KEY="${TLS_KEY:-/etc/ssl/private/pht.key}"
  export UPSTREAM="${UPSTREAM:-unix:/run/pht/web.sock}" NGINX_LOG_DIR="${NGINX_LOG_DIR:-/var/log/nginx}"
  python3 - "$ROOT/deploy" "$out" <<'PYEOF'
import os, string, sys
from pathlib import Path

src, out = Path(sys.argv[1]), Path(sys.argv[2])
names = {
    "nginx.conf.in": "nginx-pht.conf",
    "pht-web.service.in": "pht-web.service",
    "pht-refresh.service.in": "pht-refresh.service",
    "pht-refresh.timer": "pht-refresh.timer",
    "pht-backup.service.in": "pht-backup.service",
    "pht-backup.timer": "pht-backup.timer",
    "logrotate.in": "logrotate-pht",
}
for name, target in names.items():
    text = (src / name).read_text(encoding="utf-8")
    if name.endswith(".in"):
        text = string.Template(text).substitute(os.environ)  # a missing variable is an error
    (out / target).write_text(text, encoding="utf-8")
PYEOF
  say "rendered into $out"
}

need_nginx() {
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing Debian's nginx"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light >/dev/null \
      || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx >/dev/null
    # Debian's package may start its default site on port 80; the local setup does not use it
    $sudo service nginx stop >/dev/null 2>&1 || true
  fi
}

with_env() { # run a command with DIR/pht.env's variables
  local dir="$1"
  shift
  (set -a && . "$dir/pht.env" && set +a && "$@")
}

local_up() {
  local dir
  dir="$(mkdir -p "$1" && cd "$1" && pwd)"
  trap 'say "failed; stopping what started"; local_down "$dir"' ERR
  local https="${LOCAL_HTTPS_PORT:-18443}" http="${LOCAL_HTTP_PORT:-18080}"
  need_nginx
  mkdir -p "$dir/home" "$dir/static" "$dir/log" "$dir/etc" "$dir/tmp"
  if [ ! -f "$dir/tls.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$dir/tls.key" -out "$dir/tls.pem" >/dev/null 2>&1
  fi
  if [ ! -f "$dir/pht.env" ]; then
    sed -e "s|^PHT_SECRET_KEY=.*|PHT_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')|" \
      -e "s|^PHT_ALLOWED_HOSTS=.*|PHT_ALLOWED_HOSTS=127.0.0.1,localhost|" \
      -e "s|^PHT_CSRF_TRUSTED_ORIGINS=.*|PHT_CSRF_TRUSTED_ORIGINS=https://127.0.0.1:$https,https://localhost:$https|" \
      -e "s|^DATABASE_URL=.*|DATABASE_URL=${LOCAL_DATABASE_URL:-sqlite:///$dir/home/app.sqlite3}|" \
      -e "s|^PHT_HOME=.*|PHT_HOME=$dir/home|" \
      -e "s|^PHT_WAREHOUSE=.*|PHT_WAREHOUSE=$dir/home/warehouse.duckdb|" \
      -e "s|^PHT_STATIC_ROOT=.*|PHT_STATIC_ROOT=$dir/static|" \
      -e "s|^PHT_BIND=.*|PHT_BIND=unix:$dir/web.sock|" \
      -e "s|^PHT_WORKERS=.*|PHT_WORKERS=2|" \
      -e "s|^PHT_LOG_DIR=.*|PHT_LOG_DIR=$dir/log|" \
      "$ROOT/deploy/pht.env.example" >"$dir/pht.env"
    chmod 600 "$dir/pht.env"
  fi
  PHT_USER="$(id -un)" ENV_FILE="$dir/pht.env" PHT_HOME="$dir/home" LOG_DIR="$dir/log" \
    STATIC_ROOT="$dir/static" SERVER_NAME="127.0.0.1 localhost" HTTP_LISTEN="127.0.0.1:$http" \
    HTTPS_LISTEN="127.0.0.1:$https" HTTPS_SUFFIX=":$https" TLS_CERT="$dir/tls.pem" \
    TLS_KEY="$dir/tls.key" UPSTREAM="unix:$dir/web.sock" NGINX_LOG_DIR="$dir/log" \
    render "$dir/etc"
  with_env "$dir" "$PY" -m django migrate --settings=pht.app.project.settings --no-input -v 0
  with_env "$dir" "$PY" -m django collectstatic --settings=pht.app.project.settings --no-input -v 0
  with_env "$dir" "$PY" -m django check --deploy --settings=pht.app.project.settings --fail-level ERROR
  (cd "$ROOT" && with_env "$dir" "$ROOT/.venv/bin/gunicorn" --config "$ROOT/deploy/gunicorn.conf.py" \
    --pid "$dir/gunicorn.pid" --daemon)
  local user_line=""
  [ "$(id -u)" -ne 0 ] || user_line="user root;" # the local files live in root's private tmp
  cat >"$dir/nginx.conf" <<NGX
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/log/nginx-error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/etc/nginx-pht.conf;
}
NGX
  /usr/sbin/nginx -t -q -p "$dir" -c "$dir/nginx.conf"
  /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf"
  for _ in $(seq 1 100); do
    if [ -S "$dir/web.sock" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1', $https), 1)" 2>/dev/null; then
      say "up: https://127.0.0.1:$https/ (certificate $dir/tls.pem)"
      return 0
    fi
    sleep 0.2
  done
  die "the local setup did not come up; see $dir/log"
}

local_down() {
  local dir="$1" pids=""
  [ -f "$dir/nginx.pid" ] && pids="$pids $(cat "$dir/nginx.pid")"
  [ -f "$dir/gunicorn.pid" ] && pids="$pids $(cat "$dir/gunicorn.pid")"
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 1 ] || return 0
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
}

case "${1:-}" in
  render) render "${2:?usage: deploy.sh render OUT}" ;;
  local-up) local_up "${2:?usage: deploy.sh local-up DIR}" ;;
  local-down) local_down "${2:?usage: deploy.sh local-down DIR}" ;;
  *) die "usage: deploy.sh render OUT | local-up DIR | local-down DIR" ;;
esac
