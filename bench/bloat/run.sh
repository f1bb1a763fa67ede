#!/usr/bin/env bash
# Bloat in practice (issue 8): an hour of churn compressed. A producer inserts noop jobs with
# set-based SQL as fast as one Release Worker process drains them (backlog held near --backlog),
# until --jobs jobs went through the table; for the middle third of them (by jobs drained) a
# REPEATABLE READ transaction holds a snapshot open, as a forgotten session would. Every ~2 s a
# sample: dead tuples, heap and index size, ClaimJobs cost from pg_stat_statements, jobs drained,
# the xmin horizon as jobs.db_xmin_horizon() reports it. Twice, each on a fresh database built by
# the Migrator:
#   engine: the table as migration 0001 makes it (fillfactor 70, aggressive per-table autovacuum)
#           and pruning on (retention 30 s, every 5 s);
#   plain:  ALTER TABLE jobs.job RESET (fillfactor, autovacuum_*) and retention of 7 days, so
#           pruning never deletes anything: PostgreSQL defaults, nothing removed.
# Figures: bench/results/bloat-<UTC time>.json (summary + every sample) and .md.
#
#   bench/bloat/run.sh                    2,000,000 jobs per variant (~8 min per variant on a loaded 2-core box)
#   bench/bloat/run.sh --jobs 300000      what fits in a few minutes on a loaded 2-core box
set -euo pipefail
. "$(dirname "$0")/common.sh"

JOBS=2000000 BACKLOG=20000 BATCH=5000 MAX_SECONDS=900 SETTLE_SECONDS=20
while [ $# -gt 0 ]; do
  case $1 in
    --jobs) JOBS=$2; shift 2 ;;
    --backlog) BACKLOG=$2; shift 2 ;;
    --max-seconds) MAX_SECONDS=$2; shift 2 ;;
    *) echo "unknown argument $1 (expected --jobs N, --backlog N, --max-seconds N)" >&2; exit 2 ;;
  esac
done

BENCH_EXTRA_CLEANUP=stop_background
PRODUCER_PID="" HELD_PID="" HELD_FD=""
stop_background() {
  [ -n "$PRODUCER_PID" ] && { kill "$PRODUCER_PID" 2>/dev/null || true; wait "$PRODUCER_PID" 2>/dev/null || true; PRODUCER_PID=""; }
  end_held_transaction
}

bench_init bloat
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/bloat-$STAMP
SAMPLES=$LOG_DIR/bloat-$STAMP.jsonl
: > "$SAMPLES"

# A session that takes a snapshot and sits idle in transaction: vacuum cannot remove any row
# version that died after it, on any table of the database.
open_held_transaction() {
  local db=$1 fifo=$LOG_DIR/held.fifo
  rm -f "$fifo"; mkfifo "$fifo"
  PGAPPNAME=bench-held-transaction owner_sql "$db" <"$fifo" >"$LOG_DIR/$db-held.log" 2>&1 &
  HELD_PID=$!
  exec {HELD_FD}>"$fifo"
  echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM jobs.kind;" >&"$HELD_FD"
}
end_held_transaction() {
  [ -n "$HELD_PID" ] || return 0
  echo "COMMIT;" >&"$HELD_FD" 2>/dev/null || true
  exec {HELD_FD}>&-
  wait "$HELD_PID" 2>/dev/null || true
  HELD_PID=""
}

# One sample as a JSON object; cumulative counters are turned into rates by the summary.
sample() { # sample <db> <seconds since start> <phase>
  owner_sql "$1" -v t="$2" -v phase="$3" -v claim_filter="$CLAIM_FILTER" <<'SQL'
SELECT json_build_object(
  't', :'t'::numeric, 'phase', :'phase',
  'inserted', (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM jobs.job_id_seq),
  'unfinished', (SELECT count(*) FROM jobs.job WHERE state IN ('available', 'scheduled', 'retryable'))
              + (SELECT count(*) FROM jobs.job WHERE state = 'running'),
  'live_tuples', s.n_live_tup, 'dead_tuples', s.n_dead_tup,
  'autovacuums', s.autovacuum_count, 'autoanalyzes', s.autoanalyze_count,
  'heap_bytes', pg_relation_size('jobs.job'), 'index_bytes', pg_indexes_size('jobs.job'),
  'total_bytes', pg_total_relation_size('jobs.job'),
  'claim_calls', coalesce(c.calls, 0), 'claim_ms', coalesce(c.ms, 0), 'claim_rows', coalesce(c.rows, 0),
  'claim_blocks', coalesce(c.blocks, 0),
  'xmin_age_s', (SELECT round(transaction_age_seconds::numeric, 1) FROM jobs.db_xmin_horizon()),
  'xmin_application', (SELECT application_name FROM jobs.db_xmin_horizon()))
FROM pg_stat_user_tables AS s,
     LATERAL (SELECT sum(p.calls) AS calls, sum(p.total_exec_time) AS ms, sum(p.rows) AS rows,
                     sum(p.shared_blks_hit + p.shared_blks_read) AS blocks
              FROM pg_stat_statements AS p
              WHERE p.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND :claim_filter) AS c
WHERE s.relid = 'jobs.job'::regclass;
SQL
}

# The producer: one session, one short transaction per batch, pausing while the backlog is full.
producer_sql() {
  cat <<SQL
DO \$\$
DECLARE inserted bigint := 0;
BEGIN
  WHILE inserted < $JOBS LOOP
    IF (SELECT count(*) FROM jobs.job WHERE state = 'available' AND queue = 'default') < $BACKLOG THEN
      $(enqueue_noop_sql "least($BATCH, $JOBS - inserted)");
      inserted := inserted + least($BATCH, $JOBS - inserted);
    ELSE
      PERFORM pg_sleep(0.01);
    END IF;
    COMMIT;
  END LOOP;
END \$\$;
SQL
}

run_variant() { # run_variant <engine|plain>
  local variant=$1 db=bench_bloat_$1 start now t drained phase=before settle_until=""
  fresh_db "$db"
  if [ "$variant" = plain ]; then
    say "plain: resetting the engine's table settings (fillfactor, autovacuum_*) to PostgreSQL defaults"
    owner_sql "$db" -c "ALTER TABLE jobs.job RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
      autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor, autovacuum_vacuum_cost_delay)"
    start_worker "$db" Jobs__Worker__RetentionPeriod=7.00:00:00
  else
    start_worker "$db" Jobs__Worker__RetentionPeriod=00:00:30 Jobs__Worker__PruneInterval=00:00:05
  fi
  say "$variant: producing $JOBS noop jobs (backlog <= $BACKLOG, batches of $BATCH); snapshot held for the middle third"
  PGAPPNAME=bench-producer app_sql "$db" -c "$(producer_sql)" >"$LOG_DIR/$db-producer.log" 2>&1 &
  PRODUCER_PID=$!
  start=$(date +%s.%N)
  while :; do
    now=$(date +%s.%N); t=$(echo "$now - $start" | bc)
    line=$(sample "$db" "$t" "$phase")
    echo "$line" | jq -c --arg v "$variant" '. + {variant: $v}' >> "$SAMPLES"
    drained=$(echo "$line" | jq '.inserted - .unfinished')
    if [ "$phase" = before ] && [ "$drained" -ge $((JOBS / 3)) ]; then
      say "$variant: $drained drained at ${t%.*} s: opening the held REPEATABLE READ transaction"
      open_held_transaction "$db"; phase=held
    elif [ "$phase" = held ] && [ "$drained" -ge $((2 * JOBS / 3)) ]; then
      say "$variant: $drained drained at ${t%.*} s: committing the held transaction"
      end_held_transaction; phase=after
    elif [ "$phase" = after ] && [ "$drained" -ge "$JOBS" ]; then
      say "$variant: all $JOBS drained at ${t%.*} s; sampling $SETTLE_SECONDS s more while vacuum and pruning catch up"
      phase=settle; settle_until=$(echo "$t + $SETTLE_SECONDS" | bc)
    elif [ "$phase" = settle ] && [ "$(echo "$t >= $settle_until" | bc)" = 1 ]; then
      break
    fi
    if [ "$(echo "$t > $MAX_SECONDS" | bc)" = 1 ]; then
      say "$variant: stopped after $MAX_SECONDS s with $drained of $JOBS drained (phase $phase)"
      echo "{\"variant\":\"$variant\",\"incomplete\":true}" >> "$SAMPLES"
      break
    fi
    sleep 2
  done
  stop_background
  stop_worker
  owner_sql postgres -c "DROP DATABASE $db WITH (FORCE)"
}

run_variant engine
run_variant plain

# Per variant: peaks, final sizes, and per phase the ClaimJobs cost and drain rate between the
# last sample before the phase and its last sample.
jq -s --argjson jobs "$JOBS" --argjson backlog "$BACKLOG" --arg when "$STAMP" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cpus "$(nproc)" '
  def r(n): (. * pow(10; n) | round) / pow(10; n);
  def phases(s): ["before", "held", "after", "settle"] | map(. as $p |
    (s | map(.phase == $p) | index(true)) as $i | (s | map(.phase == $p) | rindex(true)) as $j |
    if $i == null then empty else
      (s[if $i > 0 then $i - 1 else $i end]) as $a | s[$j] as $b | ($b.claim_calls - $a.claim_calls) as $calls |
      { key: $p, value: {
          seconds: ($b.t - $a.t | r(1)),
          drained_per_s: (if $b.t > $a.t then (($b.inserted - $b.unfinished) - ($a.inserted - $a.unfinished)) / ($b.t - $a.t) | round else null end),
          claim_calls: $calls,
          claim_mean_ms: (if $calls > 0 then ($b.claim_ms - $a.claim_ms) / $calls | r(2) else null end),
          claim_rows_per_call: (if $calls > 0 then ($b.claim_rows - $a.claim_rows) / $calls | r(0) else null end),
          claim_blocks_per_call: (if $calls > 0 then ($b.claim_blocks - $a.claim_blocks) / $calls | r(0) else null end),
          peak_dead_tuples: (s[$i:$j+1] | map(.dead_tuples) | max) } }
    end) | from_entries;
  group_by(.variant) | map(.[0].variant as $v | map(select(.t != null)) as $s | {
    key: $v, value: {
      complete: (. | map(.incomplete // false) | any | not),
      seconds: ($s[-1].t | r(0)),
      samples: ($s | length),
      jobs_drained: ($s[-1].inserted - $s[-1].unfinished),
      peak_dead_tuples: ($s | map(.dead_tuples) | max),
      peak_total_mb: ($s | map(.total_bytes) | max / 1048576 | r(1)),
      final_heap_mb: ($s[-1].heap_bytes / 1048576 | r(1)),
      final_index_mb: ($s[-1].index_bytes / 1048576 | r(1)),
      final_total_mb: ($s[-1].total_bytes / 1048576 | r(1)),
      final_live_tuples: $s[-1].live_tuples, final_dead_tuples: $s[-1].dead_tuples,
      autovacuums: $s[-1].autovacuums,
      oldest_xmin_seen_s: ($s | map(.xmin_age_s // 0) | max),
      phases: phases($s),
      series: $s } }) | from_entries |
  { benchmark: "bloat", when: $when, jobs_per_variant: $jobs, backlog: $backlog,
    machine: { cpus: ($cpus | tonumber), load_average: $load }, variants: . }' "$SAMPLES" > "$OUT.json"

jq -r -f bench/bloat/report.jq "$OUT.json" > "$OUT.md"
cat "$OUT.md"
