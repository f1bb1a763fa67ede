-- Purpose: finish the move of migration 9 on a live database: finalized rows still in jobs.job go
--   to jobs.job_history, the live-only check is validated, and the indexes jobs.job kept only for
--   the admin listing and pruning (every claim and finish wrote into them) are dropped.
-- Owner: the Migrator.
-- Expects: migration 9, and Workers of this version (an older Worker's finish writes a finalized
--   state into jobs.job, which the check of migration 9 refuses: its completer retries until it is
--   replaced, nothing is lost). jobs.job may be live and large: rows move in batches of 10,000,
--   each its own transaction that skips rows someone holds (about 5 s per million rows on 2
--   cores), workers go on claiming and finishing meanwhile; VALIDATE takes SHARE UPDATE EXCLUSIVE
--   (writes go on); each index is dropped CONCURRENTLY. Run outside a transaction.
-- Result: jobs.job holds live jobs only, with the indexes of claim (job_runnable_idx), due-time
--   wake-up (job_scheduled_run_at_idx), rescue and finish (job_running_idx, job_running_queue_idx)
--   and live idempotency (job_live_idempotency_key_idx); the listing reads jobs.job_history's.
-- Rollback: rebuilds the four indexes concurrently; the rows move back with migration 9's rollback.
-- Transaction: none

-- migrate:up
CALL jobs.move_finalized_jobs(10000);
ALTER TABLE jobs.job VALIDATE CONSTRAINT job_is_live;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_state_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_queue_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_kind_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_finalized_at_idx;

-- migrate:down
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_finalized_at_idx ON jobs.job (finalized_at)
    WHERE state IN ('completed', 'discarded', 'cancelled');
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_kind_id_idx ON jobs.job (kind, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_queue_id_idx ON jobs.job (queue, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_state_id_idx ON jobs.job (state, id);
