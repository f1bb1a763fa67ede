-- The driver's queries, run as the database owner on each system's database.

-- name: DeadTuples
-- Dead tuples of the system's event tables ($1, schema-qualified), as the statistics collector counts them.
SELECT coalesce(sum(n_dead_tup), 0)::bigint FROM pg_stat_user_tables WHERE schemaname || '.' || relname = ANY($1::text[]);

-- name: HoldTransactionId
-- Gives the holder's transaction an XID, so it pins the xmin horizon while it sits idle.
SELECT txid_current();

-- name: JobengineCounts
-- Jobs the adapters enqueued into our engine, and how many of them completed (live jobs and the
-- history, through the view of both).
SELECT count(*) AS enqueued, count(*) FILTER (WHERE state = 'completed') AS completed
FROM jobs.job_all WHERE queue = 'portable_bench';

-- name: PgbossCounts
-- Jobs the adapters enqueued into pg-boss, and how many of them completed.
SELECT count(*) AS enqueued, count(*) FILTER (WHERE state = 'completed') AS completed
FROM pgboss.job WHERE name = 'portable_bench';
