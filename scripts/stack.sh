#!/usr/bin/env bash
# Brings up, locally and without containers, the infrastructure the AppHost would start:
# PostgreSQL 15 (pg_stat_statements preloaded) and Redis 7 from Debian packages, each on
# 127.0.0.1 on its own port, data in a throwaway folder, and writes the connection strings the
# services read to $STACK_DIR/env as NAME=value lines.
#
#   scripts/stack.sh up       install what is missing, start what is not running (idempotent)
#   scripts/stack.sh down     stop what this script started
#   scripts/stack.sh status   say what runs
#   scripts/stack.sh install  only install the Debian packages that are missing (./run.sh uses it)
#
# Environment: STACK_DIR (default .stack), PG_PORT (54329), REDIS_PORT (63799).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=${STACK_DIR:-$ROOT/.stack}
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
PG_BIN=/usr/lib/postgresql/15/bin

say() { echo "[stack] $*" >&2; }

as_postgres() { PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- "$@"; }

install_missing() {
  local packages=()
  [ -x "$PG_BIN/pg_ctl" ] || packages+=(postgresql-15 postgresql-contrib-15)
  command -v redis-server >/dev/null || packages+=(redis-server)
  command -v psql >/dev/null || packages+=(postgresql-client-15)
  if [ ${#packages[@]} -gt 0 ]; then
    say "installing ${packages[*]} from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  fi
}

# PostgreSQL refuses to run as root and must reach its data folder as user postgres; a checkout
# under a private home folder is not reachable, so the data then lives under /tmp instead.
pg_root() {
  if runuser -u postgres -- test -x "$STACK_DIR" 2>/dev/null; then
    echo "$STACK_DIR/pg"
  else
    echo "${TMPDIR:-/tmp}/jobs-stack-$(echo "$STACK_DIR" | md5sum | cut -c1-8)/pg"
  fi
}

secret() {
  local file="$STACK_DIR/secrets/$1"
  if [ ! -s "$file" ]; then
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file"
  fi
  cat "$file"
}

# A port another program listens on makes pg_ctl or redis-server fail with a message that does
# not name the port; say which port, who holds it (ss -ltnp names the process when it can), and
# how to pick others, then stop.
require_free_port() {
  local port=$1 what=$2 holder=""
  if command -v ss >/dev/null; then
    holder=$(ss -ltnpH "sport = :$port" 2>/dev/null | head -n1)
    [ -n "$holder" ] || return 0
    holder=$(echo "$holder" | grep -o 'users:(([^)]*))' | sed -E 's/users:\(\("([^"]*)",pid=([0-9]+).*/\1 (pid \2)/')
  elif ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    return 0
  fi
  say "port $port, wanted for $what, is already taken${holder:+ by $holder}."
  say "Another checkout's stack may be running (its 'scripts/stack.sh down' stops it), or choose other ports:"
  say "  PG_PORT=$((PG_PORT + 100)) REDIS_PORT=$((REDIS_PORT + 100)) $0 ${COMMAND:-up}   (./test.sh, ./run.sh and the benches read the same variables)"
  exit 1
}

pg_running() { [ -f "$1/data/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

pg_up() {
  local root; root=$(pg_root)
  if pg_running "$root"; then
    say "PostgreSQL already runs on 127.0.0.1:$PG_PORT ($root)"
  else
    mkdir -p "$root/run"
    chown postgres:postgres "$root" "$root/run"
    if [ ! -f "$root/data/PG_VERSION" ]; then
      say "initialising a PostgreSQL 15 cluster in $root/data"
      local pwfile; pwfile=$(mktemp); secret postgres > "$pwfile"; chown postgres "$pwfile"
      as_postgres "$PG_BIN/initdb" -D "$root/data" -U postgres --pwfile="$pwfile" \
        --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
      rm -f "$pwfile"
      cat >> "$root/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$root/run'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.max = 20000
max_connections = 300
shared_buffers = 512MB
track_io_timing = on
log_min_messages = warning
CONF
    fi
    require_free_port "$PG_PORT" PostgreSQL
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # The port is passed on each start, so PG_PORT also moves a cluster initialised on another.
    as_postgres "$PG_BIN/pg_ctl" -D "$root/data" -l "$root/postgres.log" -o "-p $PG_PORT" -w -t 60 start >/dev/null
  fi
  bootstrap_database "$root"
}

# The owner role runs the Migrator (it owns jobsdb and may create the services' role); the
# superuser is only used here, over the local socket.
bootstrap_database() {
  local root=$1 owner_pw; owner_pw=$(secret jobs_owner)
  as_postgres psql -q -h "$root/run" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -v owner_pw="$owner_pw" >/dev/null <<'SQL'
SELECT format('CREATE ROLE jobs_owner LOGIN CREATEDB CREATEROLE PASSWORD %L', :'owner_pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jobs_owner') \gexec
SELECT format('ALTER ROLE jobs_owner PASSWORD %L', :'owner_pw') \gexec
GRANT pg_read_all_stats, pg_signal_backend TO jobs_owner;
-- The tests count how often a trigger's statement is planned (EnqueueTests): the owner may turn
-- on pg_stat_statements' planning counts in its own sessions; nothing else changes.
GRANT SET ON PARAMETER pg_stat_statements.track_planning TO jobs_owner;
SELECT 'CREATE DATABASE jobsdb OWNER jobs_owner'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'jobsdb') \gexec
SQL
  as_postgres psql -q -h "$root/run" -p "$PG_PORT" -U postgres -d jobsdb -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  # A job's row lives seconds: autovacuum looks every 5 s (not every minute), so the claim index's
  # dead entries are reclaimed before they slow the claim (README, "How the table settings limit
  # bloat"). Set on every start, so a cluster made by an older checkout gets it too.
  as_postgres psql -q -h "$root/run" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET autovacuum_naptime = '5s'" -c "SELECT pg_reload_conf()" >/dev/null
  # The test suite makes a database per test class and each keeps its statements' entries: with the
  # default 5,000 the least-used are evicted mid-run, and a test reading its own statements back
  # (DatabaseHealthTests) finds none. The setting is read at start, so an older cluster restarts once.
  as_postgres psql -q -h "$root/run" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET pg_stat_statements.max = 20000" -c "SELECT pg_reload_conf()" >/dev/null
  if [ "$(as_postgres psql -Atq -h "$root/run" -p "$PG_PORT" -U postgres -d postgres \
      -c "SELECT pending_restart FROM pg_settings WHERE name = 'pg_stat_statements.max'")" = "t" ]; then
    say "restarting PostgreSQL once to raise pg_stat_statements.max to 20000"
    as_postgres "$PG_BIN/pg_ctl" -D "$root/data" -l "$root/postgres.log" -o "-p $PG_PORT" -w -t 60 restart >/dev/null
  fi
  as_postgres psql -q -h "$root/run" -p "$PG_PORT" -U postgres -d template1 -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
}

redis_up() {
  local pw; pw=$(secret redis)
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -a "$pw" --no-auth-warning ping 2>/dev/null | grep -q PONG; then
    say "Redis already runs on 127.0.0.1:$REDIS_PORT"
    return
  fi
  require_free_port "$REDIS_PORT" Redis
  mkdir -p "$STACK_DIR/redis"
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  # The password reaches redis-server on stdin, not on its command line.
  printf 'requirepass %s\n' "$pw" | redis-server - --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --dir "$STACK_DIR/redis" --pidfile "$STACK_DIR/redis/redis.pid" --logfile "$STACK_DIR/redis/redis.log" \
    --save "" --appendonly no --protected-mode yes >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -a "$pw" --no-auth-warning ping 2>/dev/null | grep -q PONG && return
    sleep 0.1
  done
  say "Redis did not answer on 127.0.0.1:$REDIS_PORT; see $STACK_DIR/redis/redis.log"; exit 1
}

write_env() {
  local app_pw owner_pw redis_pw root; app_pw=$(secret jobs_app); owner_pw=$(secret jobs_owner); redis_pw=$(secret redis); root=$(pg_root)
  umask 077
  # Values are single-quoted (none contains a quote): the file stays NAME=value lines that
  # bash can source as it is (set -a; . .stack/env), semicolons and all.
  cat > "$STACK_DIR/env" <<ENV
ConnectionStrings__jobsdb='Host=127.0.0.1;Port=$PG_PORT;Database=jobsdb;Username=jobs_app;Password=$app_pw'
ConnectionStrings__cache='127.0.0.1:$REDIS_PORT,password=$redis_pw'
JOBS_OWNER_CONNECTION='Host=127.0.0.1;Port=$PG_PORT;Database=jobsdb;Username=jobs_owner;Password=$owner_pw'
Migrator__AppRolePassword='$app_pw'
Webhooks__SigningSecret='$(secret webhook)'
PG_SOCKET_DIR='$root/run'
PG_DATA_DIR='$root/data'
PGHOST='127.0.0.1'
PGPORT='$PG_PORT'
PGDATABASE='jobsdb'
PGUSER='jobs_owner'
PGPASSWORD='$owner_pw'
ENV
  say "connection strings written to $STACK_DIR/env (psql: set -a; . $STACK_DIR/env; psql)"
}

up() {
  install_missing
  mkdir -p "$STACK_DIR/secrets"; chmod 700 "$STACK_DIR/secrets"
  pg_up
  redis_up
  write_env
}

down() {
  local root; root=$(pg_root)
  if pg_running "$root"; then
    say "stopping PostgreSQL"
    as_postgres "$PG_BIN/pg_ctl" -D "$root/data" -m fast -w stop >/dev/null
  fi
  if [ -f "$STACK_DIR/redis/redis.pid" ] && kill -0 "$(cat "$STACK_DIR/redis/redis.pid")" 2>/dev/null; then
    say "stopping Redis"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -a "$(secret redis)" --no-auth-warning shutdown nosave >/dev/null 2>&1 || kill "$(cat "$STACK_DIR/redis/redis.pid")"
  fi
}

status() {
  local root; root=$(pg_root)
  if pg_running "$root"; then echo "postgresql: running on 127.0.0.1:$PG_PORT ($root/data)"; else echo "postgresql: stopped"; fi
  if [ -f "$STACK_DIR/redis/redis.pid" ] && kill -0 "$(cat "$STACK_DIR/redis/redis.pid")" 2>/dev/null; then echo "redis: running on 127.0.0.1:$REDIS_PORT"; else echo "redis: stopped"; fi
}

COMMAND=${1:-}
case "$COMMAND" in
  up) up ;;
  down) down ;;
  status) status ;;
  install) install_missing ;;
  *) echo "usage: $0 up|down|status|install" >&2; exit 2 ;;
esac
