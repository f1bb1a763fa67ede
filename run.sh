#!/usr/bin/env bash
# Runs the whole stack in the foreground the Aspire way: `dotnet run --project AppHost` (the
# dashboard, PostgreSQL, Redis, the Migrator to completion, the Api, WORKERS Worker replicas; see
# AppHost/AppHost.cs). What it adds to a bare `dotnet run`:
#   - installs what is missing (PostgreSQL and Redis from Debian packages, for machines without a
#     container runtime; the .NET restore and build);
#   - the contract scripts rely on: API_PORT, API_ADMIN_KEY (only its SHA-256 reaches the Api;
#     generated and printed when unset), WORKERS, the owner's connection in $STACK_DIR/env as
#     NAME=value lines (set -a; . .stack/env; set +a; psql), PostgreSQL on PG_PORT and Redis on
#     REDIS_PORT when they are set;
#   - every OTEL_* variable given to it reaches the services (an external collector's
#     OTEL_EXPORTER_OTLP_ENDPOINT included) beside the dashboard (the AppHost relays to both);
#   - prints the dashboard's login URL, the admin page and the API reference;
#   - Ctrl+C or SIGTERM stops everything it started, PostgreSQL with a clean shutdown.
#
# Environment: WORKERS (2), API_PORT (5080), API_ADMIN_KEY, DASHBOARD_PORT (15080),
# DASHBOARD_OTLP_PORT (19080), DASHBOARD_RESOURCE_PORT (20080), STACK_DIR (.stack), PG_PORT and
# REDIS_PORT (the AppHost's defaults, 55432 and 56379, when unset), CONFIGURATION (Release),
# NO_BUILD=1 (use what is already built), INFRASTRUCTURE (auto, containers or executables).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
STACK_DIR=${STACK_DIR:-$ROOT/.stack}
WORKERS=${WORKERS:-2}
API_PORT=${API_PORT:-5080}
DASHBOARD_PORT=${DASHBOARD_PORT:-15080}
DASHBOARD_OTLP_PORT=${DASHBOARD_OTLP_PORT:-19080}
DASHBOARD_RESOURCE_PORT=${DASHBOARD_RESOURCE_PORT:-20080}
CONFIGURATION=${CONFIGURATION:-Release}

say() { echo "[run] $*"; }

say "installing what is missing"
scripts/stack.sh install
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ "${NO_BUILD:-0}" != 1 ]; then
  say "building the AppHost and the services ($CONFIGURATION)"
  dotnet build AppHost/AppHost.csproj -c "$CONFIGURATION" --verbosity quiet -nologo >/dev/null
fi

# The admin key of this run: only its SHA-256 reaches the Api (Api:Keys:admin:Hash).
if [ -z "${API_ADMIN_KEY:-}" ]; then
  API_ADMIN_KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  generated_key=1
fi
admin_key_hash=$(printf '%s' "$API_ADMIN_KEY" | sha256sum | cut -c1-64)
mkdir -p "$STACK_DIR"
rm -f "$STACK_DIR/env"

# What the AppHost reads (AppHost/AppHost.cs, JobsInfrastructure.cs, StackEnvFile.cs). Names with
# a hyphen cannot be exported by bash, so they are passed through env(1).
settings=(
  DOTNET_ENVIRONMENT="${DOTNET_ENVIRONMENT:-Development}"
  ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-${DOTNET_ENVIRONMENT:-Development}}"
  ASPNETCORE_URLS="http://127.0.0.1:$DASHBOARD_PORT"
  ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL="http://127.0.0.1:$DASHBOARD_OTLP_PORT"
  ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://127.0.0.1:$DASHBOARD_RESOURCE_PORT"
  ASPIRE_ALLOW_UNSECURED_TRANSPORT=true
  Stack__ApiPort="$API_PORT"
  Stack__Workers="$WORKERS"
  Stack__EnvFile="$STACK_DIR/env"
  Infrastructure__DataDirectory="$STACK_DIR/aspire"
  Infrastructure__Mode="${INFRASTRUCTURE:-auto}"
  "Parameters__api-admin-key-hash=$admin_key_hash"
)
[ -n "${PG_PORT:-}" ] && settings+=(Infrastructure__PostgresPort="$PG_PORT")
[ -n "${REDIS_PORT:-}" ] && settings+=(Infrastructure__RedisPort="$REDIS_PORT")
# The caller's OTEL_* are for the services, not for the AppHost itself: handed over under Stack:Otel.
otel=()
for name in $(env | grep -o '^OTEL_[A-Z_]*' | sort -u); do
  settings+=("Stack__Otel__$name=${!name}")
  otel+=(-u "$name")
done

apphost=""
stop() {
  trap '' INT TERM
  say "stopping"
  # `dotnet run` does not pass the signal on: the AppHost it started (its child) gets it, and
  # stops every resource, PostgreSQL with its fast shutdown.
  if [ -n "$apphost" ]; then
    for child in $(ps -o pid= --ppid "$apphost"); do kill -TERM "$child" 2>/dev/null || true; done
  fi
  wait "$apphost" 2>/dev/null || true
  say "stopped"
  exit 0
}
trap stop INT TERM

say "starting the AppHost (dotnet run --project AppHost)"
env "${otel[@]}" "${settings[@]}" dotnet run --project AppHost -c "$CONFIGURATION" --no-build --no-launch-profile &
apphost=$!

say "dashboard:     http://127.0.0.1:$DASHBOARD_PORT (log in with the URL the AppHost prints: \"Login to the dashboard at ...\")"
say "admin page:    http://127.0.0.1:$API_PORT/admin"
say "API reference: http://127.0.0.1:$API_PORT/scalar (OpenAPI document: /openapi/v1.json)"
say "Api health:    http://127.0.0.1:$API_PORT/health and /alive"
if [ "${generated_key:-0}" = 1 ]; then say "admin API key (generated for this run): $API_ADMIN_KEY"; else say "admin API key: \$API_ADMIN_KEY"; fi
say "owner's connection: $STACK_DIR/env once PostgreSQL answers (set -a; . $STACK_DIR/env; set +a; psql)"
[ ${#otel[@]} -gt 0 ] && say "passing through $(env | grep -o '^OTEL_[A-Z_]*' | sort -u | tr '\n' ' ')"
say "Ctrl+C stops everything."
wait "$apphost" || true
say "stopped"
