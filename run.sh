#!/usr/bin/env bash
# Runs the whole stack in the foreground from local processes, the same topology the AppHost
# starts: PostgreSQL and Redis (scripts/stack.sh), the Migrator to completion, then WORKERS Worker
# processes (default 2, like the AppHost's replicas; one that dies is restarted). Ctrl+C or
# SIGTERM stops everything it started. Each line of output is prefixed with its process's name.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
WORKERS=${WORKERS:-2}
BIN="$ROOT/.stack/bin"

say() { echo "[run] $*"; }

say "infrastructure"
scripts/stack.sh up
set -a; . .stack/env; set +a
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_ENVIRONMENT=${DOTNET_ENVIRONMENT:-Development}

say "building (Release)"
dotnet build Aspire.ci.slnf -c Release --verbosity quiet -nologo >/dev/null
for project in Migrator Worker; do
  mkdir -p "$BIN"
  ln -sfn "$ROOT/$project/bin/Release/net10.0" "$BIN/$project"
done

prefix() { local name=$1; sed -u "s/^/[$name] /"; }

pids=()
stopping=0
stop_all() {
  stopping=1
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  say "stopped"
}
trap 'stop_all; exit 0' INT TERM

say "migrating"
(cd "$BIN/Migrator" && OTEL_SERVICE_NAME=migrator ConnectionStrings__jobsdb="$JOBS_OWNER_CONNECTION" \
  dotnet Migrator.dll apply 2>&1 | prefix migrator)

# A Worker that dies is started again, as a container orchestrator would.
run_worker() {
  local n=$1 child
  while [ "$stopping" -eq 0 ]; do
    (cd "$BIN/Worker" && exec env OTEL_SERVICE_NAME=worker ASPNETCORE_URLS="http://127.0.0.1:$((5180 + n))" \
      Jobs__DiagnosticKinds=true dotnet Worker.dll) > >(prefix "worker-$n") 2>&1 &
    child=$!
    trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT
    wait "$child" || true
    [ "$stopping" -eq 0 ] && echo "[run] worker-$n exited; restarting in 1 s" && sleep 1
  done
}

for n in $(seq 1 "$WORKERS"); do
  run_worker "$n" &
  pids+=($!)
done

say "running: $WORKERS workers (health: http://127.0.0.1:5181/health ...). Ctrl+C stops everything."
wait
