-- Purpose: finished jobs leave the live table. jobs.job keeps only live jobs (available,
--   scheduled, running, retryable): the claim walks it and each state change writes into its few
--   indexes only. A job that completes, is discarded or cancelled moves, in the statement that
--   finalizes it, into jobs.job_history: append-only, partitioned by day on finalized_at, carrying
--   the admin listing's indexes, so retention drops a day's partition instead of deleting rows.
-- Owner: the Migrator. jobs.maintain_job_history runs as its owner (SECURITY DEFINER, fixed
--   search_path) so the Worker's role can create and drop day partitions without owning the schema.
-- Expects: migration 8; jobs.job may be live and large: this migration adds empty tables, functions
--   and triggers and a NOT VALID check (brief ACCESS EXCLUSIVE locks under the Migrator's
--   lock_timeout, no table scan). Finalized rows still in jobs.job are moved by migration 10 and
--   the check is validated there; the listing indexes of jobs.job are dropped by migration 11.
--   Services of this version work during the whole move: they read both tables.
-- Result: jobs.job_history (partitions job_history_YYYYMMDD and job_history_default), the view
--   jobs.job_all (both tables, for reading by hand), the
--   procedure jobs.move_finalized_jobs (used by migration 10), jobs.maintain_job_history, count
--   triggers on the history, jobs.job's created_by without the session-variable default (the
--   engine passes it with each insert) and the check job_is_live (NOT VALID).
-- Rollback: moves every history row back into jobs.job, restores the count functions of
--   migration 8 and the created_by default, drops the history, its functions and the check.
-- Transaction: yes

-- migrate:up
CREATE TABLE jobs.job_history (
    id               bigint         NOT NULL,
    state            jobs.job_state NOT NULL,
    queue            text           NOT NULL,
    kind             text           NOT NULL,
    args             jsonb          NOT NULL,
    priority         smallint       NOT NULL,
    attempt          smallint       NOT NULL,
    max_attempts     smallint       NOT NULL,
    run_at           timestamptz    NOT NULL,
    created_at       timestamptz    NOT NULL,
    attempted_at     timestamptz,
    finalized_at     timestamptz    NOT NULL,
    attempted_by     text,
    errors           jsonb          NOT NULL,
    idempotency_key  text,
    trace_parent     text,
    created_by       text,
    CONSTRAINT job_history_is_finalized CHECK (state IN ('completed', 'discarded', 'cancelled'))
) PARTITION BY RANGE (finalized_at);

-- A row whose day has no partition yet (maintenance has not run for days, or a row written by
-- hand with an old finalized_at) lands here instead of failing the statement that finishes it.
CREATE TABLE jobs.job_history_default PARTITION OF jobs.job_history DEFAULT;

-- GET /jobs/{id}, cancel and retry by id; the listing's three filters newest first; the latency
-- sample of GET /stats (latest finalized). Every partition gets them.
CREATE INDEX job_history_id_idx ON jobs.job_history (id);
CREATE INDEX job_history_state_id_idx ON jobs.job_history (state, id);
CREATE INDEX job_history_queue_id_idx ON jobs.job_history (queue, id);
CREATE INDEX job_history_kind_id_idx ON jobs.job_history (kind, id);
CREATE INDEX job_history_finalized_at_idx ON jobs.job_history (finalized_at);

-- Every job, live or finished, for reading by hand (operators, tests): a job is in exactly one
-- of the two tables in any snapshot. The engine and the Api read the tables themselves.
CREATE VIEW jobs.job_all AS
SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, attempted_at, finalized_at,
       lease_expires_at, attempted_by, errors, idempotency_key, trace_parent, created_by
FROM jobs.job
UNION ALL
SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, attempted_at, finalized_at,
       NULL::timestamptz, attempted_by, errors, idempotency_key, trace_parent, created_by
FROM jobs.job_history;

-- Live rows only, from now on (existing finalized rows are moved and the check validated by
-- migration 10).
ALTER TABLE jobs.job ADD CONSTRAINT job_is_live CHECK (state IN ('available', 'scheduled', 'running', 'retryable')) NOT VALID;

-- Who created a job is a parameter of the engine's INSERT now, not a session setting.
ALTER TABLE jobs.job ALTER COLUMN created_by DROP DEFAULT;

-- Counts: a state change inside the live table moves counts between live states; it never
-- finishes a job any more, so the per-minute counts are the history's business (below).
CREATE OR REPLACE FUNCTION jobs.count_jobs_updated() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    INSERT INTO jobs.job_count AS c (queue, state, shard, n)
    SELECT queue, state, pg_backend_pid() % 64, sum(delta)
    FROM (SELECT queue, state, -1 AS delta FROM before_update
          UNION ALL
          SELECT queue, state, 1 FROM after_update) AS changed
    GROUP BY queue, state
    HAVING sum(delta) <> 0
    ORDER BY queue, state
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

-- A row entering the history is counted in its state; the jobs this very statement finalized
-- (finalized_at = now(), as every engine statement writes it) also count in their minute. Rows
-- moved with an earlier finalized_at (migration 10, an import) were counted when they finished.
CREATE FUNCTION jobs.count_jobs_finalized() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    INSERT INTO jobs.job_count AS c (queue, state, shard, n)
    SELECT queue, state, pg_backend_pid() % 64, count(*)
    FROM changed_rows
    GROUP BY queue, state
    ORDER BY queue, state
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;

    INSERT INTO jobs.job_finished_minute AS m (minute, queue, shard, completed, discarded, cancelled)
    SELECT date_trunc('minute', finalized_at), queue, pg_backend_pid() % 64,
           count(*) FILTER (WHERE state = 'completed'),
           count(*) FILTER (WHERE state = 'discarded'),
           count(*) FILTER (WHERE state = 'cancelled')
    FROM changed_rows
    WHERE finalized_at = now()
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (minute, queue, shard) DO UPDATE
        SET completed = m.completed + excluded.completed,
            discarded = m.discarded + excluded.discarded,
            cancelled = m.cancelled + excluded.cancelled;
    RETURN NULL;
END
$$;

-- Each table empties only the counts of its own states: live states for jobs.job, finalized
-- states (and the minutes) for the history.
CREATE OR REPLACE FUNCTION jobs.count_jobs_truncated() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    IF TG_TABLE_NAME = 'job' THEN
        DELETE FROM jobs.job_count WHERE state IN ('available', 'scheduled', 'running', 'retryable');
    ELSE
        DELETE FROM jobs.job_count WHERE state IN ('completed', 'discarded', 'cancelled');
        DELETE FROM jobs.job_finished_minute;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER job_history_inserted_count
    AFTER INSERT ON jobs.job_history
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_finalized();
CREATE TRIGGER job_history_updated_count
    AFTER UPDATE ON jobs.job_history
    REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_updated();
CREATE TRIGGER job_history_deleted_count
    AFTER DELETE ON jobs.job_history
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_inserted_or_deleted();
CREATE TRIGGER job_history_truncated_count
    AFTER TRUNCATE ON jobs.job_history
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_truncated();

-- Moves finalized rows still in jobs.job into the history, a batch per transaction (CALL it
-- outside a transaction block), skipping rows someone holds. Returns when none is left.
CREATE PROCEDURE jobs.move_finalized_jobs(p_batch integer)
    LANGUAGE plpgsql AS
$$
DECLARE
    moved bigint;
BEGIN
    LOOP
        WITH picked AS (
            SELECT id FROM jobs.job
            WHERE state IN ('completed', 'discarded', 'cancelled')
            LIMIT p_batch
            FOR UPDATE SKIP LOCKED
        ), gone AS (
            DELETE FROM jobs.job AS j USING picked WHERE j.id = picked.id
            RETURNING j.*
        ), kept AS (
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                          attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
            SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                   attempted_at, coalesce(finalized_at, created_at), attempted_by, errors, idempotency_key, trace_parent, created_by
            FROM gone
            RETURNING 1
        )
        SELECT count(*) INTO moved FROM kept;
        COMMIT;
        EXIT WHEN moved = 0;
    END LOOP;
END
$$;

-- Retention as partition drops: creates the partitions of the next days (so the default stays
-- empty), then drops every day partition entirely older than the retention, taking its rows out
-- of the counts first, and deletes what the default partition holds past it. Every lock is
-- asked for with a short timeout: a busy moment fails this call, which the pruner repeats next
-- tick, rather than queueing the finishing workers behind it. Returns the rows dropped.
CREATE FUNCTION jobs.maintain_job_history(p_retention interval)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET lock_timeout = '200ms' AS
$$
DECLARE
    day date;
    part record;
    dropped bigint := 0;
    n bigint;
    cutoff timestamptz := now() - p_retention;
BEGIN
    FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date + 2, interval '1 day')::date LOOP
        IF to_regclass(format('jobs.job_history_%s', to_char(day, 'YYYYMMDD'))) IS NULL THEN
            BEGIN
                EXECUTE format('CREATE TABLE jobs.%I PARTITION OF jobs.job_history FOR VALUES FROM (%L) TO (%L)',
                               'job_history_' || to_char(day, 'YYYYMMDD'),
                               (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            EXCEPTION WHEN check_violation THEN
                -- The default partition already holds rows of that day: they stay there.
                NULL;
            END;
        END IF;
    END LOOP;

    FOR part IN
        SELECT c.oid::regclass AS name
        FROM pg_inherits AS i
        JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'jobs.job_history'::regclass
          AND c.relname ~ '^job_history_[0-9]{8}$'
          AND (to_date(substr(c.relname, 13), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', part.name);
        EXECUTE format('INSERT INTO jobs.job_count AS c (queue, state, shard, n)
                        SELECT queue, state, pg_backend_pid() %% 64, -count(*) FROM %s GROUP BY queue, state ORDER BY queue, state
                        ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n', part.name);
        EXECUTE format('SELECT count(*) FROM %s', part.name) INTO n;
        EXECUTE format('DROP TABLE %s', part.name);
        dropped := dropped + n;
    END LOOP;

    WITH gone AS (
        DELETE FROM jobs.job_history_default WHERE finalized_at < cutoff RETURNING queue, state
    ), counted AS (
        INSERT INTO jobs.job_count AS c (queue, state, shard, n)
        SELECT queue, state, pg_backend_pid() % 64, -count(*) FROM gone GROUP BY queue, state ORDER BY queue, state
        ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n
    )
    SELECT count(*) INTO n FROM gone;
    RETURN dropped + n;
END
$$;

SELECT jobs.maintain_job_history(interval '1000 years');

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.job_history TO jobs_app;
GRANT SELECT ON jobs.job_all TO jobs_app;
GRANT EXECUTE ON FUNCTION jobs.count_jobs_finalized() TO jobs_app;
REVOKE EXECUTE ON FUNCTION jobs.maintain_job_history(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jobs.maintain_job_history(interval) TO jobs_app;

-- migrate:down
-- Finalized counts come back through jobs.job's insert trigger: take them out first.
DELETE FROM jobs.job_count WHERE state IN ('completed', 'discarded', 'cancelled');
ALTER TABLE jobs.job DROP CONSTRAINT job_is_live;
INSERT INTO jobs.job (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                      attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
OVERRIDING SYSTEM VALUE
SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by
FROM jobs.job_history;
DROP VIEW jobs.job_all;
DROP TABLE jobs.job_history;
DROP FUNCTION jobs.maintain_job_history(interval);
DROP PROCEDURE jobs.move_finalized_jobs(integer);
DROP FUNCTION jobs.count_jobs_finalized();
ALTER TABLE jobs.job ALTER COLUMN created_by SET DEFAULT nullif(current_setting('jobs.created_by', true), '');
CREATE OR REPLACE FUNCTION jobs.count_jobs_truncated() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    DELETE FROM jobs.job_count;
    DELETE FROM jobs.job_finished_minute;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION jobs.count_jobs_updated() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    INSERT INTO jobs.job_count AS c (queue, state, shard, n)
    SELECT queue, state, pg_backend_pid() % 64, sum(delta)
    FROM (SELECT queue, state, -1 AS delta FROM before_update
          UNION ALL
          SELECT queue, state, 1 FROM after_update) AS changed
    GROUP BY queue, state
    HAVING sum(delta) <> 0
    ORDER BY queue, state
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;

    INSERT INTO jobs.job_finished_minute AS m (minute, queue, shard, completed, discarded, cancelled)
    SELECT date_trunc('minute', a.finalized_at), a.queue, pg_backend_pid() % 64,
           count(*) FILTER (WHERE a.state = 'completed'),
           count(*) FILTER (WHERE a.state = 'discarded'),
           count(*) FILTER (WHERE a.state = 'cancelled')
    FROM after_update AS a
    JOIN before_update AS b ON b.id = a.id
    WHERE a.state IN ('completed', 'discarded', 'cancelled')
      AND b.state NOT IN ('completed', 'discarded', 'cancelled')
      AND a.finalized_at IS NOT NULL
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (minute, queue, shard) DO UPDATE
        SET completed = m.completed + excluded.completed,
            discarded = m.discarded + excluded.discarded,
            cancelled = m.cancelled + excluded.cancelled;
    RETURN NULL;
END
$$;
