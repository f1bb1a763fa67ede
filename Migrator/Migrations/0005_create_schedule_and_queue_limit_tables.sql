-- Purpose: recurring jobs (schedules and the instants they fired) and global per-queue limits
--   (concurrency cap and rate limit) enforced at claim time.
-- Owner: the Migrator.
-- Expects: migration 1 (schema jobs, role jobs_app). New, empty tables: built in one transaction.
-- Result: jobs.schedule (one row per configured schedule, pausable), jobs.schedule_run (the
--   instant is the primary key: exactly one enqueue per instant across any number of workers),
--   jobs.queue_limit (caps shared by every worker) and jobs.queue_start (start times of
--   rate-limited queues, for an exact sliding window).
-- Rollback: drops the four tables; schedules stop firing and limits stop being enforced.
-- Transaction: yes

-- migrate:up
CREATE TABLE jobs.schedule (
    name             text        PRIMARY KEY,
    cron             text        NOT NULL,
    time_zone        text        NOT NULL,
    kind             text        NOT NULL,
    args             jsonb       NOT NULL,
    queue            text        NOT NULL,
    catch_up         text        NOT NULL CHECK (catch_up IN ('enqueue', 'skip')),
    catch_up_window  interval    NOT NULL,
    paused           boolean     NOT NULL DEFAULT false,
    last_instant     timestamptz,
    last_job_id      bigint,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs.schedule_run (
    schedule_name text        NOT NULL REFERENCES jobs.schedule (name) ON DELETE CASCADE,
    instant       timestamptz NOT NULL,
    job_id        bigint,
    outcome       text        NOT NULL CHECK (outcome IN ('enqueued', 'skipped')),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_name, instant)
);

CREATE TABLE jobs.queue_limit (
    queue         text     PRIMARY KEY,
    max_running   integer  CHECK (max_running > 0),
    rate_limit    integer  CHECK (rate_limit > 0),
    rate_period   interval CHECK (rate_period > interval '0'),
    CHECK ((rate_limit IS NULL) = (rate_period IS NULL))
);

CREATE TABLE jobs.queue_start (
    queue      text        NOT NULL,
    started_at timestamptz NOT NULL
);
CREATE INDEX queue_start_queue_started_at_idx ON jobs.queue_start (queue, started_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.schedule, jobs.schedule_run, jobs.queue_limit, jobs.queue_start TO jobs_app;

-- migrate:down
DROP TABLE jobs.queue_start;
DROP TABLE jobs.queue_limit;
DROP TABLE jobs.schedule_run;
DROP TABLE jobs.schedule;
