-- Database health, one query per name. The jobs.db_* functions (migration 7) read the
-- statistics views as the schema owner, so the services' role needs no statistics role.

-- name: TopStatements
SELECT query, calls, total_ms, mean_ms, rows FROM jobs.db_top_statements($1);

-- name: IndexUsage
SELECT index_name::text, table_name::text, scans, size_bytes, is_valid, is_unique FROM jobs.db_index_usage();

-- name: TableHealth
SELECT table_name::text, live_tuples, dead_tuples, size_bytes, last_vacuum, last_autovacuum, last_analyze, last_autoanalyze
FROM jobs.db_table_health();

-- name: XminHorizon
SELECT pid, application_name, state, xmin_age_xids, transaction_age_seconds FROM jobs.db_xmin_horizon();

-- name: LongTransactions
SELECT pid, application_name, state, transaction_age_seconds, query FROM jobs.db_long_transactions($1);

-- name: Connections
SELECT application_name, state, connections FROM jobs.db_connections();

-- name: OldestWaitingJobSeconds
-- Age of the oldest job that could run now but has not started: the queue's backlog in time.
SELECT extract(epoch FROM now() - min(run_at))::float8
FROM jobs.job
WHERE state IN ('available', 'scheduled', 'retryable')
  AND run_at <= now();
