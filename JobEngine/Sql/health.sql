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
-- Age in seconds of the job that has been due the longest: the queues' backlog in time, read on
-- every /health probe and by GET /stats. A plain min(run_at) over the runnable states reads the
-- whole of job_runnable_idx (migration 1: queue, priority, run_at), the backlog. Instead a skip
-- scan visits each (queue, priority) pair once and reads its earliest run_at, so the cost follows
-- the number of pairs, not the backlog.
WITH RECURSIVE runnable_group AS (
    (SELECT queue, priority
     FROM jobs.job
     WHERE state IN ('available', 'scheduled', 'retryable')
     ORDER BY queue, priority
     LIMIT 1)
    UNION ALL
    SELECT next_group.queue, next_group.priority
    FROM runnable_group AS g
    CROSS JOIN LATERAL (
        SELECT queue, priority
        FROM jobs.job
        WHERE state IN ('available', 'scheduled', 'retryable')
          AND (queue, priority) > (g.queue, g.priority)
        ORDER BY queue, priority
        LIMIT 1) AS next_group
)
SELECT extract(epoch FROM now() - min(earliest.run_at))::float8 AS oldest_waiting_seconds
FROM runnable_group AS g
CROSS JOIN LATERAL (
    SELECT run_at
    FROM jobs.job
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND queue = g.queue
      AND priority = g.priority
    ORDER BY run_at
    LIMIT 1) AS earliest
WHERE earliest.run_at <= now();
