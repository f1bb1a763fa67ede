#!/usr/bin/env bash
# Sets up and runs every test on a fresh machine: PostgreSQL and Redis from Debian packages on
# loopback (scripts/stack.sh), the format check, a Release build of Aspire.sln, then every test
# project against the real servers. Ends with the failed tests' names and messages, if any, and
# then one line "N passed, N failed" (CI keeps only the tail of the output).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
SUMMARY="$ROOT/.stack/test-summary"
mkdir -p .stack && echo "0 passed, 1 failed" > "$SUMMARY"

step() { echo "==> $*"; }

step "infrastructure (PostgreSQL, Redis)"
scripts/stack.sh up
set -a; . .stack/env; set +a
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

step "browser for the admin page tests (Debian's chromium)"
if ! command -v chromium >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi

step "restore"
dotnet restore Aspire.sln --verbosity quiet

step "format check (dotnet format --verify-no-changes)"
dotnet format Aspire.sln --no-restore --verify-no-changes --verbosity quiet

step "build (Release)"
dotnet build Aspire.sln -c Release --no-restore --verbosity quiet -nologo

step "tests"
rm -rf "$ROOT/.stack/test-results"
status=0
dotnet test Aspire.sln -c Release --no-build --verbosity quiet \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$ROOT/.stack/test-results" || status=$?

passed=0; failed=0
for trx in "$ROOT"/.stack/test-results/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(echo "$counters" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*')
  f=$(echo "$counters" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  passed=$((passed + p)); failed=$((failed + f))
done
if [ "$failed" -gt 0 ]; then
  step "failed tests"
  # Each failed UnitTestResult of the trx files: its name and the first lines of its message.
  perl -0777 -ne 'while (/<UnitTestResult [^>]*?testName="([^"]*)"[^>]*?outcome="Failed".*?<Message>(.*?)<\/Message>/gs) {
      my ($name, $msg) = ($1, $2); $msg =~ s/&lt;/</g; $msg =~ s/&gt;/>/g; $msg =~ s/&quot;/"/g; $msg =~ s/&amp;/&/g;
      my @lines = (split /\n/, $msg)[0..7]; print "FAILED $name\n", map({ defined $_ ? "    $_\n" : "" } @lines); }' \
    "$ROOT"/.stack/test-results/*.trx || true
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed" | tee "$SUMMARY"
exit "$status"
