-- Purpose: a finished job writes one index entry fewer. The history's finalized_at index served
--   only the queue-latency sample of GET /stats (the latest 2,000 jobs finalized in the last hour),
--   which now reads the id index backwards in the day partitions of that hour (ids grow with time,
--   and the hour prunes the partitions); retention drops whole partitions and needs no index. Every
--   finish wrote five history index entries per job, each at the right edge of its index where
--   concurrent finishes meet: now four (WAL of a 1,000-job finish 550 kB -> 488 kB).
-- Owner: the Migrator.
-- Expects: migration 13. A partitioned index cannot be dropped CONCURRENTLY (PostgreSQL 15), so the
--   drop takes ACCESS EXCLUSIVE on jobs.job_history and its partitions for the moment of the drop
--   (no build, no scan). It waits at most 5 s for running statements on the history, since every
--   finish would queue behind a waiting drop; past that it fails, changes nothing, and is safe to
--   run again.
-- Result: jobs.job_history with job_history_id_idx, job_history_state_id_idx,
--   job_history_queue_id_idx and job_history_kind_id_idx.
-- Rollback: builds the index again on every partition (CREATE INDEX on the partitioned table, not
--   concurrently: finishes wait for the build, about a second per million rows of history).
-- Transaction: yes

-- migrate:up
SET LOCAL lock_timeout = '5s';
DROP INDEX IF EXISTS jobs.job_history_finalized_at_idx;

-- migrate:down
CREATE INDEX IF NOT EXISTS job_history_finalized_at_idx ON jobs.job_history (finalized_at);
