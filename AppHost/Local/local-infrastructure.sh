#!/usr/bin/env bash
# PostgreSQL and Redis from the Debian packages' binaries, as the AppHost's executable resources
# run them where no container runtime answers (see LocalPostgresResource, LocalRedisResource).
# Each command runs in the foreground under the orchestrator, which stops it with SIGTERM.
#
#   local-infrastructure.sh postgres-init DATA_ROOT DATABASE   initdb once, then set the superuser's
#                                                              password (POSTGRES_PASSWORD) and create
#                                                              DATABASE; exits
#   local-infrastructure.sh postgres DATA_ROOT PORT             the server on 127.0.0.1:PORT
#   local-infrastructure.sh redis DATA_ROOT PORT                redis-server on 127.0.0.1:PORT
#                                                              (password REDIS_PASSWORD)
set -euo pipefail

say() { echo "[local-infrastructure] $*"; }

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/postgres" ] || { say "PostgreSQL is not installed: apt-get install postgresql (./run.sh does it)"; exit 1; }
  echo "$bin"
}

# PostgreSQL refuses to run as root and must reach its data folder as user postgres; a checkout
# under a private home folder is not reachable, so the data then lives under /tmp instead.
pg_root() {
  local root=$1
  mkdir -p "$root"
  if runuser -u postgres -- test -x "$root" 2>/dev/null; then
    echo "$root/postgres"
  else
    echo "${TMPDIR:-/tmp}/jobs-aspire-$(echo "$root" | md5sum | cut -c1-8)/postgres"
  fi
}

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# Runs SQL in single-user mode (the server is not up yet) and prints what it returned.
single_user() { echo "$2" | as_postgres "$(pg_bin)/postgres" --single -D "$1/data" -c log_min_messages=warning postgres; }

postgres_init() {
  local root database bin
  root=$(pg_root "$1"); database=$2; bin=$(pg_bin)
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}"
  mkdir -p "$root/run"
  chown postgres:postgres "$root" "$root/run"
  if [ ! -f "$root/data/PG_VERSION" ]; then
    say "initialising a PostgreSQL cluster in $root/data"
    local pwfile; pwfile=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"; chown postgres "$pwfile"
    as_postgres "$bin/initdb" -D "$root/data" -U postgres --pwfile="$pwfile" \
      --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  else
    say "PostgreSQL cluster in $root/data"
  fi
  # The password is a parameter of this run (the container image sets it the same way, from
  # POSTGRES_PASSWORD); the generated value is not kept, so it is set again on every start.
  single_user "$root" "ALTER ROLE postgres PASSWORD '$POSTGRES_PASSWORD'" >/dev/null
  if ! single_user "$root" "SELECT datname FROM pg_database WHERE datname = '$database'" | grep -q "\"$database\""; then
    say "creating database $database"
    single_user "$root" "CREATE DATABASE \"$database\"" >/dev/null
  fi
}

postgres_run() {
  local root port bin
  root=$(pg_root "$1"); port=$2; bin=$(pg_bin)
  say "PostgreSQL on 127.0.0.1:$port, data in $root/data"
  # A job's row lives seconds: autovacuum looks every 5 s (not every minute), so the claim index's
  # dead entries are reclaimed before they slow the claim (README, "How the table settings limit bloat").
  setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$root/data" -c listen_addresses=127.0.0.1 -c port="$port" \
    -c unix_socket_directories="$root/run" -c max_connections=300 -c log_min_messages=warning -c autovacuum_naptime=5s &
  local server=$!
  # SIGTERM from the orchestrator becomes PostgreSQL's fast shutdown (SIGINT): sessions are ended
  # and the server stops cleanly instead of waiting for every client to leave.
  trap 'kill -INT "$server" 2>/dev/null' TERM INT
  wait "$server" || true
  wait "$server"
}

redis_run() {
  local root=$1/redis port=$2
  : "${REDIS_PASSWORD:?REDIS_PASSWORD is not set}"
  command -v redis-server >/dev/null || { say "Redis is not installed: apt-get install redis-server (./run.sh does it)"; exit 1; }
  mkdir -p "$root"
  say "Redis on 127.0.0.1:$port, data in $root"
  # The password reaches redis-server in a file only root reads, not on its command line.
  (umask 077; printf 'requirepass %s\n' "$REDIS_PASSWORD" > "$root/redis.conf")
  exec redis-server "$root/redis.conf" --bind 127.0.0.1 --port "$port" \
    --dir "$root" --save 60 1 --appendonly no --protected-mode yes
}

case "${1:-}" in
  postgres-init) postgres_init "$2" "$3" ;;
  postgres) postgres_run "$2" "$3" ;;
  redis) redis_run "$2" "$3" ;;
  *) echo "usage: $0 postgres-init DATA_ROOT DATABASE | postgres DATA_ROOT PORT | redis DATA_ROOT PORT" >&2; exit 2 ;;
esac
