-- Purpose: count a queue's running jobs cheaply, for the global concurrency cap checked at claim time.
-- Owner: the Migrator.
-- Expects: migration 1; jobs.job may be live and large: built CONCURRENTLY, outside a transaction.
-- Result: a partial index holding only running jobs (at most the workers' total concurrency), by queue.
-- Rollback: drops it concurrently; capped claims then count running jobs through job_running_idx.
-- Transaction: none

-- migrate:up
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_running_queue_idx ON jobs.job (queue) WHERE state = 'running';

-- migrate:down
DROP INDEX CONCURRENTLY IF EXISTS jobs.job_running_queue_idx;
