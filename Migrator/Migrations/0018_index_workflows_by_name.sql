-- Purpose: the admin listing of workflows (GET /workflows, newest first) filtered by name: a
--   recurring workflow ("nightly") is found among many without reading every workflow. Unfiltered,
--   the listing walks jobs.workflow's primary key backwards and needs nothing new.
-- Owner: the Migrator.
-- Expects: migration 15; jobs.workflow may be live and large, so the index is built CONCURRENTLY
--   outside a transaction, under the Migrator's lock_timeout. An index left invalid by an
--   interrupted build is found through pg_index.indisvalid and rebuilt on rerun.
-- Result: a btree index on jobs.workflow (name, id): the first page of one name is an index range
--   scan in id order. Each enqueued workflow writes one more index entry (one per workflow, not per step).
-- Rollback: drops the index concurrently; a listing by name then reads the primary key backwards
--   and filters.
-- Transaction: none

-- migrate:up
CREATE INDEX CONCURRENTLY IF NOT EXISTS workflow_name_id_idx ON jobs.workflow (name, id);

-- migrate:down
DROP INDEX CONCURRENTLY IF EXISTS jobs.workflow_name_id_idx;
