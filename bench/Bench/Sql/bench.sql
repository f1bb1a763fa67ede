-- Queries of the benchmark driver, one per name. None is built from input; the only variable
-- parts are parameters.

-- name: AnyLeftOurs
-- 1 while any job is not finalized, else 0, from the exact count of live jobs (jobs.job_count, kept
-- in the same transaction as every claim and finish): a read of a few dozen rows. An EXISTS on
-- jobs.job scanned the dead rows the drain had just left at the table's head, 3.4 ms a poll, 7 %
-- of a core taken from the engine it was timing.
SELECT (coalesce(sum(n), 0) > 0)::int FROM jobs.job_count WHERE state IN ('available', 'scheduled', 'running', 'retryable');

-- name: AnyLeftGraphile
-- Graphile Worker deletes a job when it completes.
SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs)::int;

-- name: AnyLeftPgBoss
SELECT EXISTS (SELECT 1 FROM pgboss.job WHERE state < 'completed')::int;

-- name: AnyLeftHangfire
-- Hangfire.PostgreSql deletes a job's queue row when the job is done.
SELECT EXISTS (SELECT 1 FROM hangfire.jobqueue)::int;

-- name: WorkersRegistered
-- Our Worker registers itself (its jobs.worker row, with its kinds) when it starts, before it claims:
-- how many have since $1, Unix ms (a row from before was an earlier run's worker).
SELECT count(*) FROM jobs.worker WHERE started_at >= to_timestamp($1 / 1000.0);

-- name: HoldGraphileJobs
LOCK TABLE graphile_worker._private_jobs IN EXCLUSIVE MODE;

-- name: HoldPgBossJobs
LOCK TABLE pgboss.job IN EXCLUSIVE MODE;

-- name: HoldHangfireJobs
LOCK TABLE hangfire.jobqueue IN EXCLUSIVE MODE;

-- name: SeedFinalizedJobs
-- History: $1 completed jobs, as a busy system leaves them behind between prunes (in the
-- history table, where the engine moves each job as it finishes).
INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, attempted_at, finalized_at, errors)
SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')), 'completed', 'default', 'noop', '{}', 5, 1, 25, t, t, t, t, '[]'
FROM (SELECT now() - (g * interval '1 millisecond') AS t FROM generate_series(1, $1) AS g) AS s;

-- name: CountJobs
SELECT count(*) FROM jobs.job_all;

-- name: StatementStats
-- Cumulative statement statistics of this database (pg_stat_statements): the driver diffs two snapshots.
-- Comment lines are cut and white space folded, so the text reads as one line.
SELECT queryid, calls, total_exec_time, rows, trim(regexp_replace(regexp_replace(query, '--[^\n]*', '', 'g'), '\s+', ' ', 'g'))
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND queryid IS NOT NULL;

-- name: ServerSettings
-- The settings the figures depend on, and how many databases share the cluster: autovacuum visits
-- each of them within its naptime, and databases left behind by hand-run probes (137 once) were part
-- of the load a run met.
SELECT name, setting, coalesce(unit, '')
FROM pg_settings
WHERE name IN ('server_version', 'shared_buffers', 'max_connections', 'fsync', 'synchronous_commit',
               'wal_level', 'max_wal_size', 'work_mem', 'maintenance_work_mem', 'effective_cache_size',
               'checkpoint_timeout', 'autovacuum', 'autovacuum_naptime', 'jit', 'shared_preload_libraries')
UNION ALL
SELECT 'databases in the cluster', count(*)::text, ''
FROM pg_database
ORDER BY 1;

-- name: PlainCreateIndexes
-- The same three indexes as migration 2, built the blocking way: each holds a SHARE lock, so
-- every insert waits until it is done.
CREATE INDEX job_state_id_idx ON jobs.job (state, id);
CREATE INDEX job_queue_id_idx ON jobs.job (queue, id);
CREATE INDEX job_kind_id_idx ON jobs.job (kind, id);

-- name: MaxJobId
SELECT greatest(coalesce((SELECT max(id) FROM jobs.job), 0), coalesce((SELECT max(id) FROM jobs.job_history), 0));

-- name: OursDrainDiagnosis
-- For the jobs of one drain (id above $1): how many were rescued after their lease ran out (a
-- run whose outcome was lost), and the seconds from the first claim until 90% were finalized.
SELECT count(*) FILTER (WHERE errors @> '[{"type": "LeaseExpired"}]'),
       extract(epoch FROM percentile_disc(0.9) WITHIN GROUP (ORDER BY finalized_at) - min(attempted_at)),
       count(*)
FROM jobs.job_all
WHERE id > $1;

-- name: FinalizedAmong
-- How many of the jobs $1 (ids) have finished: a workflow is done when all of its steps have.
SELECT count(*) FROM jobs.job_history WHERE id = ANY ($1::bigint[]);

-- name: WorkflowStepTimes
-- When each finished job of $1 (ids) started and was finalized (database clock), and on which
-- attempt: a step that ran twice shows attempt 2.
SELECT id, attempted_at, finalized_at, attempt FROM jobs.job_history WHERE id = ANY ($1::bigint[]);

-- name: WaitForFlushAtCommit
-- The ceiling's round trip that writes outcomes and claims in one transaction ends with this: the
-- claim's settings (ConfigureClaimTransaction) commit without waiting for the WAL flush, and the
-- outcomes must wait for it, as the Worker's outcome writes (their own transactions) do.
SELECT set_config('synchronous_commit', 'on', true);
