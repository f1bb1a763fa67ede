-- Purpose: the claim and the lease renewal become heap-only (HOT) updates, which write no index
--   entry at all. A claim changed the row's state, and every index of jobs.job named the state in
--   its predicate, so each claim added entries to the primary key and the two running-job indexes
--   (about 550 WAL bytes per job claimed and finished; 300 once HOT, measured with pgbench). Now no
--   index of jobs.job names a column that a claim or a renewal writes (state, attempt,
--   attempted_at, attempted_by, lease_expires_at), and pages keep room for the claimed version.
--   The claim order index holds every live job; the claim skips running rows by reading them
--   (at most the workers' concurrency, at the head of each queue), the due-time wake-up probes it
--   per priority, a capped queue's running count comes from jobs.job_count, and running jobs are
--   found by a scan of the live table when a Worker stopped heartbeating (migration 11).
-- Owner: the Migrator.
-- Expects: migration 11; jobs.job may be live and large: each index is built or dropped
--   CONCURRENTLY (writes go on), the fillfactor change takes SHARE UPDATE EXCLUSIVE and applies to
--   pages written from now on. Every row of jobs.job is live (migration 10's check), so the
--   idempotency keys are already unique without the live-state predicate. An index left invalid by
--   an interrupted build is rebuilt by the Migrator before it goes on. Run outside a transaction.
-- Result: jobs.job with job_pkey, job_claim_idx (queue, priority, run_at, id) and
--   job_idempotency_key_idx (unique where a key is set); fillfactor 40.
-- Rollback: rebuilds the five indexes of migration 10's result concurrently, drops the two new
--   ones, fillfactor back to 70.
-- Transaction: none

-- migrate:up
ALTER TABLE jobs.job SET (fillfactor = 40);
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_claim_idx ON jobs.job (queue, priority, run_at, id);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS job_idempotency_key_idx ON jobs.job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_live_idempotency_key_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_runnable_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_scheduled_run_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_running_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_running_queue_idx;

-- migrate:down
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_runnable_idx ON jobs.job (queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable');
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_scheduled_run_at_idx ON jobs.job (run_at)
    WHERE state IN ('scheduled', 'retryable');
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_running_idx ON jobs.job (id)
    WHERE state = 'running';
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_running_queue_idx ON jobs.job (queue)
    WHERE state = 'running';
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS job_live_idempotency_key_idx ON jobs.job (idempotency_key)
    WHERE idempotency_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable');
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_idempotency_key_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_claim_idx;
ALTER TABLE jobs.job SET (fillfactor = 70);
