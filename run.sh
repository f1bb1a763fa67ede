#!/usr/bin/env bash
# Runs the whole stack in the foreground from local processes, the same topology the AppHost
# (AppHost/AppHost.cs) starts, with the environment it would inject: PostgreSQL and Redis
# (scripts/stack.sh), the Migrator to completion, then the Api (when Api/Api.csproj exists) and
# WORKERS Worker processes (default 2, like the AppHost's replicas). A process that dies is
# restarted, as a container orchestrator would. Ctrl+C or SIGTERM stops everything it started,
# the infrastructure too when this run started it. Each line of output is prefixed with its
# process's name. Every OTEL_* variable set by the caller reaches every process.
#
# Environment: WORKERS (2), API_PORT (5080), API_ADMIN_KEY (generated and printed when unset),
# WORKER_BASE_PORT (5180: worker n listens on base+n), STACK_DIR, PG_PORT, REDIS_PORT (see
# scripts/stack.sh), CONFIGURATION (Release), NO_BUILD=1 (use what is already built).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export STACK_DIR=${STACK_DIR:-$ROOT/.stack}
WORKERS=${WORKERS:-2}
API_PORT=${API_PORT:-5080}
WORKER_BASE_PORT=${WORKER_BASE_PORT:-5180}
CONFIGURATION=${CONFIGURATION:-Release}
HAS_API=0; [ -f "$ROOT/Api/Api.csproj" ] && HAS_API=1

say() { echo "[run] $*"; }

# Stopped at the end only if this run starts it (a stack test.sh or the user started stays up).
started_stack=0
stack_status=$(scripts/stack.sh status)
case "$stack_status" in *"postgresql: running"*"redis: running"*) ;; *) started_stack=1 ;; esac
say "infrastructure"
scripts/stack.sh up
. "$STACK_DIR/env"
# Each service gets only what the AppHost would give it: the stack's secrets (owner connection,
# passwords) are removed from what it inherits, and its own variables are set explicitly.
unset_stack=()
for name in $(cut -d= -f1 "$STACK_DIR/env"); do unset_stack+=(-u "$name"); done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_ENVIRONMENT=${DOTNET_ENVIRONMENT:-Development}
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-$DOTNET_ENVIRONMENT}

if [ "${NO_BUILD:-0}" != 1 ]; then
  say "building ($CONFIGURATION)"
  projects=(Migrator/Migrator.csproj Worker/Worker.csproj)
  [ "$HAS_API" = 1 ] && projects+=(Api/Api.csproj)
  for project in "${projects[@]}"; do
    dotnet build "$project" -c "$CONFIGURATION" --verbosity quiet -nologo >/dev/null
  done
fi
bin() { echo "$ROOT/$1/bin/$CONFIGURATION/net10.0"; }

# The admin key of this run: only its SHA-256 reaches the Api (Api:Keys:admin:Hash), as in the AppHost.
if [ -z "${API_ADMIN_KEY:-}" ]; then
  API_ADMIN_KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  generated_key=1
fi
ADMIN_KEY_HASH=$(printf '%s' "$API_ADMIN_KEY" | sha256sum | cut -c1-64)

# The prefixer ignores Ctrl+C (sent to the whole terminal group) so a service's last lines still show.
prefix() { trap '' INT; sed -u "s/^/[$1] /"; }

supervisors=()
stop_all() {
  trap '' INT TERM
  say "stopping"
  for pid in "${supervisors[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$started_stack" = 1 ]; then scripts/stack.sh down; fi
  say "stopped"
}
trap 'stop_all; exit 0' INT TERM

# Runs one service until it is told to stop, starting it again when it dies. Arguments: the
# instance name, the service name (OTEL_SERVICE_NAME, as the AppHost's resource name), the
# project, then NAME=value pairs of its environment (what the AppHost injects).
supervise() {
  local name=$1 service=$2 project=$3 child="" stopping=0
  shift 3
  trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; [ -n "$child" ] && wait "$child" 2>/dev/null; exit 0' TERM INT
  while [ "$stopping" -eq 0 ]; do
    (cd "$(bin "$project")" && exec env "${unset_stack[@]}" OTEL_SERVICE_NAME="$service" \
      OTEL_RESOURCE_ATTRIBUTES="${OTEL_RESOURCE_ATTRIBUTES:+$OTEL_RESOURCE_ATTRIBUTES,}service.instance.id=$name" \
      "$@" dotnet "$project.dll") > >(prefix "$name") 2>&1 &
    child=$!
    wait "$child" || true
    child=""
    if [ "$stopping" -eq 0 ]; then echo "[run] $name exited; restarting in 1 s"; sleep 1; fi
  done
}

say "migrating"
(cd "$(bin Migrator)" && exec env "${unset_stack[@]}" OTEL_SERVICE_NAME=migrator OTEL_RESOURCE_ATTRIBUTES="${OTEL_RESOURCE_ATTRIBUTES:+$OTEL_RESOURCE_ATTRIBUTES,}service.instance.id=migrator" \
  ConnectionStrings__jobsdb="$JOBS_OWNER_CONNECTION" Migrator__AppRolePassword="$Migrator__AppRolePassword" dotnet Migrator.dll apply) > >(prefix migrator) 2>&1 &
migrator=$!
supervisors+=("$migrator")
wait "$migrator" || { say "the Migrator failed; nothing else is started"; stop_all; exit 1; }
supervisors=()

if [ "$HAS_API" = 1 ]; then
  supervise api api Api ASPNETCORE_URLS="http://127.0.0.1:$API_PORT" \
    ConnectionStrings__jobsdb="$ConnectionStrings__jobsdb" ConnectionStrings__cache="$ConnectionStrings__cache" \
    Api__Keys__admin__Hash="$ADMIN_KEY_HASH" Api__Keys__admin__Scope=admin &
  supervisors+=($!)
fi

for n in $(seq 1 "$WORKERS"); do
  supervise "worker-$n" worker Worker ASPNETCORE_URLS="http://127.0.0.1:$((WORKER_BASE_PORT + n))" \
    ConnectionStrings__jobsdb="$ConnectionStrings__jobsdb" Webhooks__SigningSecret="$Webhooks__SigningSecret" \
    Jobs__DiagnosticKinds=true &
  supervisors+=($!)
done

otel=$(env | grep -o '^OTEL_[A-Z_]*' | sort | tr '\n' ' ' || true)
services="$WORKERS workers"; [ "$HAS_API" = 1 ] && services="the Api and $services"
say "running: $services${otel:+ (passing through $otel)}"
if [ "$HAS_API" = 1 ]; then
  say "admin page:    http://127.0.0.1:$API_PORT/admin"
  say "API reference: http://127.0.0.1:$API_PORT/scalar (OpenAPI document: /openapi/v1.json)"
  say "Api health:    http://127.0.0.1:$API_PORT/health and /alive"
  if [ "${generated_key:-0}" = 1 ]; then say "admin API key (generated for this run): $API_ADMIN_KEY"; else say "admin API key: \$API_ADMIN_KEY"; fi
fi
say "worker health: http://127.0.0.1:$((WORKER_BASE_PORT + 1))/health ... http://127.0.0.1:$((WORKER_BASE_PORT + WORKERS))/health"
say "Ctrl+C stops everything."
wait
