-- Purpose: record which API key enqueued a job, so a producer key reads only its own jobs.
-- Owner: the Migrator.
-- Expects: migration 1; the job table may be live and large. Adding a nullable column without a
--   default and then setting a default only touches the catalog (no table rewrite); each step
--   takes a brief ACCESS EXCLUSIVE lock under the Migrator's lock_timeout.
-- Result: jobs.job.created_by (text, null for jobs enqueued outside the Api). Its default reads
--   the transaction setting jobs.created_by, which the Api sets with set_config(..., true) in the
--   enqueue transaction, so the engine's INSERT is unchanged and no row is written twice.
-- Rollback: drops the column; ownership of existing jobs is forgotten (producers then see none).
-- Transaction: yes

-- migrate:up
ALTER TABLE jobs.job ADD COLUMN created_by text;
ALTER TABLE jobs.job ALTER COLUMN created_by SET DEFAULT nullif(current_setting('jobs.created_by', true), '');

-- migrate:down
ALTER TABLE jobs.job DROP COLUMN created_by;
