#!/usr/bin/env bash
# The portable long-horizon benchmark (issue 17), with one command from a clean checkout:
#   bench/portable/run.sh                     four phases of 60 s per system (about 10 minutes)
#   bench/portable/run.sh --duration 60       the short run the test uses (15 s phases)
# Other options: --rate JOBS_PER_S (300), --workers N (32), --sample-every S, --systems jobengine,pgboss.
# It brings up the local PostgreSQL (scripts/stack.sh), installs pg-boss from npm into bench/peers,
# builds our adapter, the Migrator and the driver (Release), then runs the driver: for each system
# a fresh database, adapters launched through their executables (bench/portable/adapter,
# bench/portable/pgboss/adapter) and paced over stdin, the phases (clean; idle in transaction with
# an XID; recovery; SIGKILL and restart of one of two replicas), every stdout line validated
# against the protocol, a drain, and the per-phase table with ratios. Exits 1 on a protocol
# violation or a lost job of ours. Report: bench/results/portable-*.md and .json (BENCH_RESULTS_DIR moves them).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

say() { echo "[portable] $*"; }

say "infrastructure"
scripts/stack.sh up
set -a; . .stack/env; set +a
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v node >/dev/null || { echo "[portable] node is not installed; the pg-boss adapter runs on Node.js 20 or later" >&2; exit 1; }
if [ ! -f bench/peers/node_modules/.package-lock.json ] || [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; then
  say "pg-boss from npm (bench/peers) on Node $(node --version)"
  (cd bench/peers && npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v EBADENGINE || true)
fi
[ -d bench/peers/node_modules/pg-boss ] || { echo "[portable] npm did not install pg-boss into bench/peers/node_modules" >&2; exit 1; }

say "building the adapter, the Migrator and the driver (Release)"
bench/portable/adapter --build
dotnet build bench/portable/Driver/Driver.csproj -c Release --verbosity quiet -nologo

export PORTABLE_DIR="$ROOT/bench/portable"
exec dotnet bench/portable/Driver/bin/Release/net10.0/Driver.dll "$@"
