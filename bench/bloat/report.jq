# The Markdown summary of a bench/bloat/run.sh result (.json in, .md out):
#   jq -r -f bench/bloat/report.jq bench/results/bloat-TIME.json
  def row(name; f): "| \(name) | \(.variants.engine | f) | \(.variants.plain | f) |";
  def ph(p; f): (.phases[p] // {}) | f // "-";
  "# Bloat in practice (\(.when))\n",
  "\(.jobs_per_variant) noop jobs per variant through jobs.job, one Worker process (Release, claim batch 1000), producer keeping ~\(.backlog) runnable; a REPEATABLE READ snapshot held idle in transaction for the middle third. \(.machine.cpus) cores, load average \(.machine.load_average): a shared, heavily loaded machine, so absolute figures are noisy; compare the two columns.\n",
  "| | engine settings + pruning | PostgreSQL defaults, no pruning |", "|---|---|---|",
  row("completed the run"; .complete),
  row("seconds"; .seconds),
  row("peak dead tuples"; .peak_dead_tuples),
  row("peak dead tuples before / held / after / settle"; "\(ph("before"; .peak_dead_tuples)) / \(ph("held"; .peak_dead_tuples)) / \(ph("after"; .peak_dead_tuples)) / \(ph("settle"; .peak_dead_tuples))"),
  row("peak table+indexes MB"; .peak_total_mb),
  row("final table / indexes / total MB"; "\(.final_heap_mb) / \(.final_index_mb) / \(.final_total_mb)"),
  row("final live / dead tuples (pg_stat estimates)"; "\(.final_live_tuples) / \(.final_dead_tuples)"),
  row("autovacuum runs on jobs.job"; .autovacuums),
  row("ClaimJobs mean ms before / held / after / settle (empty claims)"; "\(ph("before"; .claim_mean_ms)) / \(ph("held"; .claim_mean_ms)) / \(ph("after"; .claim_mean_ms)) / \(ph("settle"; .claim_mean_ms))"),
  row("ClaimJobs buffers per call before / held / after / settle"; "\(ph("before"; .claim_blocks_per_call)) / \(ph("held"; .claim_blocks_per_call)) / \(ph("after"; .claim_blocks_per_call)) / \(ph("settle"; .claim_blocks_per_call))"),
  row("jobs claimed per call before / held / after"; "\(ph("before"; .claim_rows_per_call)) / \(ph("held"; .claim_rows_per_call)) / \(ph("after"; .claim_rows_per_call))"),
  row("drain jobs/s before / held / after"; "\(ph("before"; .drained_per_s)) / \(ph("held"; .drained_per_s)) / \(ph("after"; .drained_per_s))"),
  row("oldest snapshot seen by jobs.db_xmin_horizon() (s)"; .oldest_xmin_seen_s),
  "\nClaim figures are deltas of pg_stat_statements for the ClaimJobs statement over each phase. Every sample is in the .json (variants.*.series).",
  "\nReproduce: `bench/bloat/run.sh --jobs \(.jobs_per_variant)`"
