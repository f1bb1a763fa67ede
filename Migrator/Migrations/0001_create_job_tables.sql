-- Purpose: the job table, its state type, the registered-kinds table and the insert notification.
-- Owner: the Migrator (role that owns database jobsdb); Worker and Api only read and write rows.
-- Expects: an empty database; the role jobs_app already exists (the Migrator creates it first).
-- Result: schema jobs with tables job and kind, partial indexes for claim, rescue, prune and
--   idempotency keys, a statement-level trigger that sends one pg_notify per queue per statement.
-- Rollback: drops schema jobs and everything in it (all jobs are lost).
-- Transaction: yes

-- migrate:up
CREATE SCHEMA jobs;

CREATE TYPE jobs.job_state AS ENUM
    ('available', 'scheduled', 'running', 'retryable', 'completed', 'discarded', 'cancelled');

-- Churn is the workload: every job is inserted, updated two or three times and deleted.
-- fillfactor 70 leaves room on each page so lease renewals (which touch no indexed column)
-- stay HOT updates; autovacuum runs after 1% of the table changed instead of 20%, without
-- cost-based sleeping, so dead tuples from completed jobs never pile up between runs.
CREATE TABLE jobs.job (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state            jobs.job_state NOT NULL,
    queue            text           NOT NULL,
    kind             text           NOT NULL,
    args             jsonb          NOT NULL,
    priority         smallint       NOT NULL,
    attempt          smallint       NOT NULL DEFAULT 0,
    max_attempts     smallint       NOT NULL,
    run_at           timestamptz    NOT NULL,
    created_at       timestamptz    NOT NULL DEFAULT now(),
    attempted_at     timestamptz,
    finalized_at     timestamptz,
    lease_expires_at timestamptz,
    attempted_by     text,
    cancel_requested boolean        NOT NULL DEFAULT false,
    errors           jsonb          NOT NULL DEFAULT '[]',
    idempotency_key  text,
    trace_parent     text,
    CONSTRAINT job_kind_length CHECK (char_length(kind) BETWEEN 1 AND 128),
    CONSTRAINT job_queue_length CHECK (char_length(queue) BETWEEN 1 AND 64),
    CONSTRAINT job_args_is_object CHECK (jsonb_typeof(args) = 'object'),
    CONSTRAINT job_priority_range CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT job_max_attempts_range CHECK (max_attempts BETWEEN 1 AND 1000),
    CONSTRAINT job_idempotency_key_length CHECK (char_length(idempotency_key) BETWEEN 1 AND 200)
) WITH (
    fillfactor = 70,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);

-- Claim: only runnable rows are in this index, so its size follows the backlog, not the history.
CREATE INDEX job_runnable_idx ON jobs.job (queue, priority, run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable');
-- Next due time of future work, so a worker sleeps exactly until a scheduled job is due.
CREATE INDEX job_scheduled_run_at_idx ON jobs.job (run_at)
    WHERE state IN ('scheduled', 'retryable');
-- Rescue: running jobs (few: at most the workers' total concurrency). lease_expires_at is
-- deliberately not indexed, so the heartbeat that renews it stays a HOT update.
CREATE INDEX job_running_idx ON jobs.job (id)
    WHERE state = 'running';
-- Prune: finalized jobs, oldest first.
CREATE INDEX job_finalized_at_idx ON jobs.job (finalized_at)
    WHERE state IN ('completed', 'discarded', 'cancelled');
-- One live job per idempotency key; a finalized job frees its key.
CREATE UNIQUE INDEX job_live_idempotency_key_idx ON jobs.job (idempotency_key)
    WHERE idempotency_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable');

-- The kinds that running Workers can handle, so the Api can refuse a kind nobody runs.
CREATE TABLE jobs.kind (
    kind         text        PRIMARY KEY,
    worker       text        NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- One notification per queue per statement, never one per row: a batch of 10,000 jobs
-- wakes each listening worker once. Payload is the queue name.
CREATE FUNCTION jobs.notify_jobs_inserted() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('jobs_inserted', q.queue) FROM (SELECT DISTINCT queue FROM inserted) AS q;
    RETURN NULL;
END
$$;

CREATE TRIGGER job_inserted_notify
    AFTER INSERT ON jobs.job
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.notify_jobs_inserted();

-- The services' role reads and writes rows; it cannot create, alter or drop anything.
GRANT USAGE ON SCHEMA jobs TO jobs_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.job, jobs.kind TO jobs_app;
GRANT EXECUTE ON FUNCTION jobs.notify_jobs_inserted() TO jobs_app;

-- migrate:down
DROP SCHEMA jobs CASCADE;
