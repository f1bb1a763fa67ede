-- Purpose: a completed job writes one history index entry fewer. The history's (state, id) index
--   serves the listing filtered by state and the bulk retry, which both look for the few discarded
--   and cancelled jobs; a listing of completed jobs (nearly all of the history) reads the id index
--   and skips the rare others. Indexing only the jobs that did not complete takes an entry out of
--   every finish: a 2,000-row history insert 30.4 ms against 35.6-39.8 ms with the full index.
-- Owner: the Migrator.
-- Expects: migration 14. jobs.job_history may be live and large. A partitioned index cannot be
--   built or dropped CONCURRENTLY (PostgreSQL 15), so: the full index is dropped (ACCESS EXCLUSIVE
--   on the history for the moment of the drop, no scan, waiting at most the Migrator's
--   lock_timeout); the partial index is created ON ONLY the parent (invalid, nothing built), then
--   built CONCURRENTLY on each partition and attached to it, after which PostgreSQL marks it valid.
--   Between the drop and the last build a listing of discarded or cancelled jobs reads the id index
--   and filters (correct, slower). A build stopped halfway leaves the parent invalid and at most one
--   invalid partition index: the next run rebuilds that one (InvalidIndexRepair) and this migration
--   goes on with the partitions still missing theirs. A partition the pruner creates meanwhile gets
--   the partial index from the parent.
-- Result: jobs.job_history_state_id_not_completed_idx (state, id) WHERE state <> 'completed',
--   one job_history_*_state_id_idx on each partition; no full (state, id) index.
-- Rollback: the same way back: drops the partial index, builds the full one CONCURRENTLY per
--   partition and attaches it as jobs.job_history_state_id_idx.
-- Transaction: none

-- migrate:up
DROP INDEX IF EXISTS jobs.job_history_state_id_idx;
CREATE INDEX IF NOT EXISTS job_history_state_id_not_completed_idx ON ONLY jobs.job_history (state, id) WHERE state <> 'completed';
SELECT step.statement
FROM pg_inherits AS p
JOIN pg_class AS c ON c.oid = p.inhrelid
CROSS JOIN LATERAL (VALUES
    (1, format('CREATE INDEX CONCURRENTLY IF NOT EXISTS %I ON jobs.%I (state, id) WHERE state <> ''completed''', c.relname || '_state_id_idx', c.relname)),
    (2, format('ALTER INDEX jobs.job_history_state_id_not_completed_idx ATTACH PARTITION jobs.%I', c.relname || '_state_id_idx'))) AS step (n, statement)
WHERE p.inhparent = 'jobs.job_history'::regclass
  AND NOT EXISTS (SELECT FROM pg_inherits AS a JOIN pg_index AS i ON i.indexrelid = a.inhrelid
                  WHERE a.inhparent = 'jobs.job_history_state_id_not_completed_idx'::regclass AND i.indrelid = c.oid)
ORDER BY c.relname, step.n;

-- migrate:down
DROP INDEX IF EXISTS jobs.job_history_state_id_not_completed_idx;
CREATE INDEX IF NOT EXISTS job_history_state_id_idx ON ONLY jobs.job_history (state, id);
SELECT step.statement
FROM pg_inherits AS p
JOIN pg_class AS c ON c.oid = p.inhrelid
CROSS JOIN LATERAL (VALUES
    (1, format('CREATE INDEX CONCURRENTLY IF NOT EXISTS %I ON jobs.%I (state, id)', c.relname || '_state_id_idx', c.relname)),
    (2, format('ALTER INDEX jobs.job_history_state_id_idx ATTACH PARTITION jobs.%I', c.relname || '_state_id_idx'))) AS step (n, statement)
WHERE p.inhparent = 'jobs.job_history'::regclass
  AND NOT EXISTS (SELECT FROM pg_inherits AS a JOIN pg_index AS i ON i.indexrelid = a.inhrelid
                  WHERE a.inhparent = 'jobs.job_history_state_id_idx'::regclass AND i.indrelid = c.oid)
ORDER BY c.relname, step.n;
