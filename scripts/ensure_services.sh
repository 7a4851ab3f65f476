#!/usr/bin/env bash
# Make sure what the test suite talks to is there: PostgreSQL on 127.0.0.1:5432
# (trust auth for postgres), Redis on 127.0.0.1:6379, Node.js for newman, and
# Debian's Chromium for the browser tests (no browser is downloaded).
# Installs Debian's packages and starts the services only when missing, so it
# is quick on a machine that already has them. Used by `make test` and .ci/run;
# `make bench` adds --bench for the load generator (Debian's wrk).
set -euo pipefail

log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  log "starting PostgreSQL"
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432
  # The tests connect as postgres over TCP without a password, as on the dev machines.
  if ! psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
    local hba
    hba=$(runuser -u postgres -- psql -tAc 'show hba_file' 2>/dev/null || true)
    [ -z "$hba" ] && hba=$(ls /etc/postgresql/"$version"/main/pg_hba.conf)
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  log "starting Redis"
  command -v redis-server >/dev/null || apt_install redis-server
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  redis-cli -h 127.0.0.1 -p 6379 ping
}

ensure_node() {
  if command -v npm >/dev/null; then return; fi
  log "installing Node.js"
  apt_install nodejs npm
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  log "installing Chromium"
  apt_install chromium
}

ensure_wrk() {
  if command -v wrk >/dev/null; then return; fi
  log "installing wrk"
  apt_install wrk
}

ensure_postgres
ensure_redis
ensure_node
ensure_chromium
if [ "${1:-}" = "--bench" ]; then ensure_wrk; fi
