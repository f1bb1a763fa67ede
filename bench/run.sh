#!/usr/bin/env bash
# Runs the side-by-side benchmark (issue 5) with one command, from a clean checkout:
#   ./bench/run.sh          full: every scenario, median of several runs (under 20 minutes on 2 cores)
#   ./bench/run.sh --quick  every scenario small, one run each (under 3 minutes); a test runs it
# It brings up the local PostgreSQL (scripts/stack.sh), installs the Node.js peers from npm into
# bench/peers/node_modules, builds our Worker, the Migrator and the driver (bench/Bench, which is
# also the Hangfire contender) in Release, then runs bench/Bench. Results: bench/results/latest.json
# and a Markdown report beside it (BENCH_RESULTS_DIR moves them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-}
case "$MODE" in ""|--quick) ;; *) echo "usage: $0 [--quick]" >&2; exit 2 ;; esac

say() { echo "[bench] $*"; }

say "infrastructure"
scripts/stack.sh up
set -a; . .stack/env; set +a
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v node >/dev/null || { echo "[bench] node is not installed; the peers Graphile Worker and pg-boss run on Node.js 20 or later" >&2; exit 1; }
say "peers from npm (Graphile Worker, pg-boss) on Node $(node --version)"
if [ ! -f bench/peers/node_modules/.package-lock.json ] || [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; then
  (cd bench/peers && npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v EBADENGINE || true)
fi
[ -d bench/peers/node_modules/graphile-worker ] && [ -d bench/peers/node_modules/pg-boss ] \
  || { echo "[bench] npm did not install the peers into bench/peers/node_modules" >&2; exit 1; }

# dotnet-counters samples our Worker's runtime counters during one drain (bench/Bench/RuntimeProfile.cs);
# without it the run goes on and those figures are absent.
COUNTERS="$ROOT/.tools/dotnet-counters"
if [ ! -x "$COUNTERS" ]; then
  say "installing dotnet-counters into .tools/"
  dotnet tool install dotnet-counters --version 10.0.750501 --tool-path "$ROOT/.tools" >/dev/null 2>&1 \
    || say "dotnet-counters could not be installed: the Worker's runtime counters will be missing from the report"
fi
[ -x "$COUNTERS" ] && export BENCH_DOTNET_COUNTERS="$COUNTERS"

# The Worker runs as users deploy it: published, so precompiled (ReadyToRun, Worker/Worker.csproj).
say "publishing the Worker, building Migrator and bench/Bench (Release)"
dotnet publish Worker/Worker.csproj -c Release -o Worker/bin/Release/published --verbosity quiet -nologo
dotnet build Migrator/Migrator.csproj -c Release --verbosity quiet -nologo
dotnet build bench/Bench/Bench.csproj -c Release --verbosity quiet -nologo

export BENCH_WORKER_DIR="$ROOT/Worker/bin/Release/published"
export BENCH_MIGRATOR_DIR="$ROOT/Migrator/bin/Release/net10.0"
export BENCH_PEERS_DIR="$ROOT/bench/peers"
export BENCH_RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench/results}
BENCH_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- . ':!bench/results' 2>/dev/null)" ]; then BENCH_COMMIT="$BENCH_COMMIT (with uncommitted changes)"; fi
export BENCH_COMMIT

say "running ($([ "$MODE" = --quick ] && echo quick || echo full))"
exec dotnet bench/Bench/bin/Release/net10.0/Bench.dll run $MODE
