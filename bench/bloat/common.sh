# Shared by bench/bloat/run.sh and bench/limits/run.sh (sourced, not run): both push noop jobs
# through a fresh, Migrator-built database and one Release Worker process, and differ only in
# what they measure. Everything here talks to the stack of this worktree (scripts/stack.sh, ports
# from PG_PORT/REDIS_PORT) and cleans up what it started.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN_WORKER=$ROOT/Worker/bin/Release/net10.0
BIN_MIGRATOR=$ROOT/Migrator/bin/Release/net10.0
LOG_DIR=$ROOT/.stack/bench-logs
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKER_PID=""

say() { echo "[${BENCH_NAME:-bench}] $*" >&2; }

# Stack up, its connection strings exported, Release binaries built once.
bench_init() {
  BENCH_NAME=$1
  cd "$ROOT"
  mkdir -p "$LOG_DIR" bench/results
  say "stack on PostgreSQL port ${PG_PORT:-54329} (scripts/stack.sh up)"
  scripts/stack.sh up >/dev/null 2>&1
  set -a; . .stack/env; set +a
  if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    say "building Worker and Migrator (Release)"
    dotnet build Aspire.sln -c Release --verbosity quiet -nologo >/dev/null
  fi
  trap bench_cleanup EXIT
}

bench_cleanup() {
  stop_worker
  [ -n "${BENCH_EXTRA_CLEANUP:-}" ] && $BENCH_EXTRA_CLEANUP
  return 0
}

# psql on database $1 as the owner role (the Migrator's) or as the services' role jobs_app.
owner_sql() { local db=$1; shift; PGOPTIONS="-c client_min_messages=warning" PGDATABASE=$db psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
app_sql() { local db=$1; shift; PGOPTIONS="-c client_min_messages=warning" PGDATABASE=$db PGUSER=jobs_app PGPASSWORD=$Migrator__AppRolePassword psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

connection() { # connection <db> <owner|app>
  local base=${JOBS_OWNER_CONNECTION/Database=jobsdb/Database=$1}
  if [ "$2" = app ]; then base=${base/Username=jobs_owner/Username=jobs_app}; base=${base/Password=$PGPASSWORD/Password=$Migrator__AppRolePassword}; fi
  echo "$base"
}

# A new database created by the owner role and migrated by the real Migrator.
fresh_db() {
  local db=$1
  say "fresh database $db (CREATE DATABASE as jobs_owner, Migrator apply)"
  owner_sql postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  ConnectionStrings__jobsdb=$(connection "$db" owner) dotnet "$BIN_MIGRATOR/Migrator.dll" apply >"$LOG_DIR/$db-migrator.log" 2>&1 \
    || { cat "$LOG_DIR/$db-migrator.log" >&2; return 1; }
}

# One Worker process on database $1 draining noop from queue default, 1000 at a time;
# further NAME=value arguments are extra configuration. Returns once it registered its kinds.
start_worker() {
  local db=$1; shift
  say "Worker.dll (Release) on $db: queue default x1000, claim batch 1000 $*"
  (cd "$BIN_WORKER" && exec env ConnectionStrings__jobsdb="$(connection "$db" app)" ASPNETCORE_URLS=http://127.0.0.1:0 \
    Jobs__DiagnosticKinds=true Jobs__Worker__Queues__default=1000 Jobs__Worker__ClaimBatchSize=1000 \
    Logging__LogLevel__Default=Warning OTEL_SERVICE_NAME=worker "$@" dotnet Worker.dll) >"$LOG_DIR/$db-worker.log" 2>&1 &
  WORKER_PID=$!
  local i
  for i in $(seq 1 120); do
    [ "$(owner_sql "$db" -c "SELECT count(*) FROM jobs.kind WHERE kind = 'noop'")" = 1 ] && return 0
    kill -0 "$WORKER_PID" 2>/dev/null || { cat "$LOG_DIR/$db-worker.log" >&2; return 1; }
    sleep 0.5
  done
  say "Worker did not register its kinds within 60 s"; return 1
}

stop_worker() {
  [ -n "$WORKER_PID" ] || return 0
  kill -TERM "$WORKER_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 60); do kill -0 "$WORKER_PID" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$WORKER_PID" 2>/dev/null || true
  wait "$WORKER_PID" 2>/dev/null || true
  WORKER_PID=""
}

# Set-based enqueue: $2 noop jobs in one statement (one notification), as the services' role.
enqueue_noop_sql() {
  echo "INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at)
        SELECT 'available', 'default', 'noop', '{}', 5, 25, now() FROM generate_series(1, $1)"
}

# The claim statement in pg_stat_statements (ClaimJobs, the same statement on a capped
# queue): $3 is the worker id, a real parameter, so it survives normalization.
CLAIM_FILTER="p.query LIKE '%FOR UPDATE SKIP LOCKED%attempted_by = \$3%'"

# Cumulative "calls total_ms rows" of the claim statement in database $1.
claim_stats() {
  owner_sql "$1" -F ' ' -c "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0), coalesce(sum(rows), 0)
    FROM pg_stat_statements AS p WHERE p.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND $CLAIM_FILTER"
}

# Jobs not yet finalized.
unfinished() { owner_sql "$1" -c "SELECT count(*) FROM jobs.job"; }

# Waits (bounded by $2 seconds) until nothing is left to run.
wait_drained() {
  local db=$1 limit=$2 i
  for i in $(seq 1 $((limit * 2))); do
    [ "$(unfinished "$db")" = 0 ] && return 0
    sleep 0.5
  done
  say "$db not drained within $limit s"; return 1
}

# Median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
