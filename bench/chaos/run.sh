#!/usr/bin/env bash
# The long chaos run: the same harness as the test suite's short one
# (tests/Reliability.Tests/ChaosRun.cs), sized up. Jobs arrive evenly for CHAOS_SECONDS while one of
# three Worker processes is SIGKILLed and restarted every 2 s; PostgreSQL is restarted once
# (pg_ctl restart -m fast) and the LISTEN connections are terminated once (pg_terminate_backend).
# Workflows (CHAOS_WORKFLOWS, 7 steps each: a fan-out of four and a fan-in) and batches
# (CHAOS_BATCHES, 20 jobs and a callback each) arrive among the jobs.
# The run uses its own PostgreSQL (PG_PORT + 1000) and Redis, so it never disturbs the test stack.
# Figures: bench/results/chaos-<UTC time>.json and .md; logs: .stack/chaos-logs/.
#
#   bench/chaos/run.sh            200,000 jobs, 2,000 workflows and 500 batches over 10 minutes
#   CHAOS_JOBS=20000 CHAOS_WORKFLOWS=200 CHAOS_BATCHES=50 CHAOS_SECONDS=60 bench/chaos/run.sh   the test suite's size
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CHAOS_JOBS=${CHAOS_JOBS:-200000} CHAOS_WORKFLOWS=${CHAOS_WORKFLOWS:-2000} CHAOS_BATCHES=${CHAOS_BATCHES:-500} CHAOS_SECONDS=${CHAOS_SECONDS:-600}
export CHAOS_RESULTS=${CHAOS_RESULTS:-$ROOT/bench/results/chaos-$(date -u +%Y%m%d-%H%M%S)}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The chaos stack's ports are derived from PG_PORT (default 54329); the test stack is not needed.

echo "[chaos] building (Release)"
dotnet build Aspire.sln -c Release --verbosity quiet -nologo >/dev/null
echo "[chaos] $CHAOS_JOBS jobs, $CHAOS_WORKFLOWS workflows and $CHAOS_BATCHES batches over $CHAOS_SECONDS s; figures to $CHAOS_RESULTS.{json,md}"
dotnet test tests/Reliability.Tests -c Release --no-build --filter "FullyQualifiedName~ChaosTests" \
  --logger "console;verbosity=normal"
cat "$CHAOS_RESULTS.md"
