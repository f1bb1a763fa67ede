#!/usr/bin/env bash
# The Api responsiveness benchmark (issue 3): 1,000,000 finalized + 10,000 waiting jobs in a
# fresh database, a Worker process draining at full speed (a feeder keeps about 10,000 waiting),
# and the Api as its own process. Prints p50/p99 of GET /stats (hit and miss), the first page of
# GET /jobs per filter, POST /jobs against direct JobClient inserts (same concurrency), and
# EXPLAIN (ANALYZE, BUFFERS) of every admin query. About 3 to 4 minutes on 2 cores. Run it once.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
scripts/stack.sh up
set -a; . .stack/env; set +a
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Aspire.sln -c Release --verbosity quiet -nologo >/dev/null
dotnet build bench/api/ApiBench -c Release --verbosity quiet -nologo >/dev/null
mkdir -p bench/api/results
dotnet bench/api/ApiBench/bin/Release/net10.0/ApiBench.dll "$ROOT" | tee "bench/api/results/$(date -u +%Y%m%dT%H%M%SZ).txt"
