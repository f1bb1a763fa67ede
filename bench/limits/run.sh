#!/usr/bin/env bash
# What a global cap costs (issue 7): one Release Worker process drains the same noop backlog
# without a limit and with Jobs:Worker:Limits:default:MaxRunning set too high to bind (so every
# claim takes the capped path: lock the queue's limit row, count its running jobs, then claim).
# Runs alternate (off, on, off, on, ...) so load on the machine hits both alike. Throughput of one
# run = jobs / (last finalized_at - first attempted_at), read from the table, so process start-up
# is not counted. Target: the capped median within 15% of the uncapped one.
# Figures: bench/results/limits-<UTC date>.json and .md.
#
#   bench/limits/run.sh                          100,000 jobs, 3 runs each
#   bench/limits/run.sh --jobs 20000 --runs 1    a quick look
set -euo pipefail
. "$(dirname "$0")/../bloat/common.sh"

JOBS=100000 RUNS=3 CAP=100000
while [ $# -gt 0 ]; do
  case $1 in
    --jobs) JOBS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "unknown argument $1 (expected --jobs N, --runs N)" >&2; exit 2 ;;
  esac
done

bench_init limits
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/limits-$STAMP
fresh_db bench_limits_off
fresh_db bench_limits_on

# One run: backlog enqueued while no worker runs, then one worker drains it. Prints jobs/s and
# the claim statement's own mean ms per call over the run (pg_stat_statements delta), which
# separates the cost of the capped SQL from the noise of a shared machine.
drain_once() { # drain_once <db> [NAME=value...]
  local db=$1 before after; shift
  owner_sql "$db" -c "TRUNCATE jobs.job, jobs.job_history"
  app_sql "$db" -c "$(enqueue_noop_sql "$JOBS")"
  before=$(claim_stats "$db")
  start_worker "$db" "$@"
  wait_drained "$db" 600
  stop_worker
  after=$(claim_stats "$db")
  echo "$(owner_sql "$db" -c "SELECT round(count(*) / extract(epoch FROM max(finalized_at) - min(attempted_at))::numeric)
                             FROM jobs.job_all WHERE state = 'completed'")" \
       "$(echo "$before $after" | awk '{ printf "%.2f", ($5 - $2) / ($4 - $1) }')"
}

off=() on=() off_ms=() on_ms=()
for run in $(seq 1 "$RUNS"); do
  say "run $run/$RUNS without a limit: draining $JOBS noop jobs"
  read -r rate ms < <(drain_once bench_limits_off); off+=("$rate"); off_ms+=("$ms")
  say "  $rate jobs/s, claim $ms ms per call"
  say "run $run/$RUNS with MaxRunning=$CAP (does not bind): draining $JOBS noop jobs"
  read -r rate ms < <(drain_once bench_limits_on Jobs__Worker__Limits__default__MaxRunning=$CAP); on+=("$rate"); on_ms+=("$ms")
  say "  $rate jobs/s, claim $ms ms per call"
done
[ "$(owner_sql bench_limits_on -c "SELECT max_running FROM jobs.queue_limit WHERE queue = 'default'")" = "$CAP" ] \
  || { say "the capped runs did not record their limit in jobs.queue_limit"; exit 1; }

med_off=$(printf '%s\n' "${off[@]}" | median)
med_on=$(printf '%s\n' "${on[@]}" | median)
med_off_ms=$(printf '%s\n' "${off_ms[@]}" | median)
med_on_ms=$(printf '%s\n' "${on_ms[@]}" | median)
jq -n --argjson jobs "$JOBS" --argjson cap "$CAP" --arg when "$STAMP" \
  --argjson off "[$(IFS=,; echo "${off[*]}")]" --argjson on "[$(IFS=,; echo "${on[*]}")]" \
  --argjson med_off "$med_off" --argjson med_on "$med_on" \
  --argjson off_ms "[$(IFS=,; echo "${off_ms[*]}")]" --argjson on_ms "[$(IFS=,; echo "${on_ms[*]}")]" \
  --argjson med_off_ms "$med_off_ms" --argjson med_on_ms "$med_on_ms" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cpus "$(nproc)" '{
    benchmark: "limits", when: $when, jobs_per_run: $jobs, cap_max_running: $cap,
    machine: { cpus: ($cpus | tonumber), load_average: $load },
    uncapped_jobs_per_s: $off, capped_jobs_per_s: $on,
    median_uncapped: $med_off, median_capped: $med_on,
    uncapped_claim_ms_per_call: $off_ms, capped_claim_ms_per_call: $on_ms,
    median_uncapped_claim_ms: $med_off_ms, median_capped_claim_ms: $med_on_ms,
    ratio_capped_to_uncapped: (($med_on / $med_off * 1000 | round) / 1000),
    target: "ratio >= 0.85",
    met: ($med_on / $med_off >= 0.85)
  }' > "$OUT.json"
jq -r '"# Global cap cost (\(.when))\n",
  "One Worker process (Release), \(.jobs_per_run) noop jobs per run, \(.uncapped_jobs_per_s | length) runs each, alternating; \(.machine.cpus) cores, load average \(.machine.load_average) (shared machine: figures are noisy).\n",
  "| | runs (jobs/s) | median jobs/s | claim ms per call (runs) | median claim ms |", "|---|---|---|---|---|",
  "| no limit | \(.uncapped_jobs_per_s | map(tostring) | join(", ")) | \(.median_uncapped) | \(.uncapped_claim_ms_per_call | map(tostring) | join(", ")) | \(.median_uncapped_claim_ms) |",
  "| MaxRunning=\(.cap_max_running) | \(.capped_jobs_per_s | map(tostring) | join(", ")) | \(.median_capped) | \(.capped_claim_ms_per_call | map(tostring) | join(", ")) | \(.median_capped_claim_ms) |",
  "\nRatio capped/uncapped: **\(.ratio_capped_to_uncapped)** (target \(.target): \(if .met then "met" else "NOT met" end)). Claim ms per call: mean execution time of the claim statement over the run, from pg_stat_statements.",
  "\nReproduce: `bench/limits/run.sh --jobs \(.jobs_per_run) --runs \(.uncapped_jobs_per_s | length)`"' "$OUT.json" > "$OUT.md"
owner_sql postgres -c "DROP DATABASE bench_limits_off WITH (FORCE)" -c "DROP DATABASE bench_limits_on WITH (FORCE)"
cat "$OUT.md"
