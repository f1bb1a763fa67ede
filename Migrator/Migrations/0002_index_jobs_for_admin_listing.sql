-- Purpose: indexes for the admin listing (newest first, filtered by state, queue or kind).
-- Owner: the Migrator.
-- Expects: migration 1; the job table may be live and large, so every index is built
--   CONCURRENTLY outside a transaction, under the Migrator's lock_timeout. An index left
--   invalid by an interrupted build is found through pg_index.indisvalid and rebuilt on rerun.
-- Result: three btree indexes whose leading column is the filter and whose second is id, so
--   the first page of any single filter is an index range scan in id order.
-- Rollback: drops the three indexes concurrently; listings fall back to slower plans.
-- Transaction: none

-- migrate:up
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_state_id_idx ON jobs.job (state, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_queue_id_idx ON jobs.job (queue, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_kind_id_idx ON jobs.job (kind, id);

-- migrate:down
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_kind_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_queue_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_state_id_idx;
