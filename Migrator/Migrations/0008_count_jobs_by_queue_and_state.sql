-- Purpose: the counts of GET /stats without reading the job table: jobs per queue and state, and
--   jobs finalized per minute, kept in step with jobs.job by statement-level triggers, so the
--   statistics cost the same with a thousand rows or ten million.
-- Owner: the Migrator. The trigger functions run as the role that changes jobs.job (jobs_app),
--   which may only add to the two count tables and read them.
-- Expects: migration 1; jobs.job may be live and large: the migration holds SHARE ROW EXCLUSIVE on
--   jobs.job (writers wait, readers go on) while it counts the existing rows once, about a second
--   per million rows.
-- Result: tables jobs.job_count (queue, state, shard, n) and jobs.job_finished_minute (minute,
--   queue, shard, completed, discarded, cancelled), filled from the existing rows; triggers on
--   INSERT, UPDATE, DELETE and TRUNCATE of jobs.job. Each statement adds one row per queue and
--   state it changed, to a shard picked by backend process id, so concurrent workers never wait
--   on one another's counter rows.
-- Rollback: drops the triggers, their functions and both tables; GET /stats then fails until the
--   Api that reads them is rolled back too.
-- Transaction: yes

-- migrate:up
LOCK TABLE jobs.job IN SHARE ROW EXCLUSIVE MODE;

-- Sum over shards to read; a shard is pg_backend_pid() % 64, one session's own row almost always.
CREATE TABLE jobs.job_count (
    queue text           NOT NULL,
    state jobs.job_state NOT NULL,
    shard smallint       NOT NULL,
    n     bigint         NOT NULL,
    PRIMARY KEY (queue, state, shard)
) WITH (fillfactor = 50);

-- Jobs that reached a final state, by the minute they did; the pruner drops minutes past a day.
-- Filled from the existing rows once, below, then by the UPDATE trigger.
CREATE TABLE jobs.job_finished_minute (
    minute    timestamptz NOT NULL,
    queue     text        NOT NULL,
    shard     smallint    NOT NULL,
    completed bigint      NOT NULL,
    discarded bigint      NOT NULL,
    cancelled bigint      NOT NULL,
    PRIMARY KEY (minute, queue, shard)
) WITH (fillfactor = 50);

-- Rows are added in key order so two sessions sharing a shard wait for each other rather than
-- deadlock. INSERT and DELETE share a function: each names its transition table changed_rows.
-- Deleting a job (pruning) takes it out of the counts; the minute it finished in keeps it. A job
-- inserted already finalized (an import) is counted in its state, but it finished nowhere:
-- minutes count only jobs that an UPDATE moved into a final state.
CREATE FUNCTION jobs.count_jobs_inserted_or_deleted() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    INSERT INTO jobs.job_count AS c (queue, state, shard, n)
    SELECT queue, state, pg_backend_pid() % 64, CASE TG_OP WHEN 'INSERT' THEN count(*) ELSE -count(*) END
    FROM changed_rows
    GROUP BY queue, state
    ORDER BY queue, state
    ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

-- Every row appears once before and once after: a row whose queue and state did not change adds
-- nothing, so lease renewals write no counts at all.
CREATE FUNCTION jobs.count_jobs_updated() RETURNS trigger
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

CREATE FUNCTION jobs.count_jobs_truncated() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    DELETE FROM jobs.job_count;
    DELETE FROM jobs.job_finished_minute;
    RETURN NULL;
END
$$;

CREATE TRIGGER job_inserted_count
    AFTER INSERT ON jobs.job
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_inserted_or_deleted();
CREATE TRIGGER job_updated_count
    AFTER UPDATE ON jobs.job
    REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_updated();
CREATE TRIGGER job_deleted_count
    AFTER DELETE ON jobs.job
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_inserted_or_deleted();
CREATE TRIGGER job_truncated_count
    AFTER TRUNCATE ON jobs.job
    FOR EACH STATEMENT EXECUTE FUNCTION jobs.count_jobs_truncated();

INSERT INTO jobs.job_count (queue, state, shard, n)
SELECT queue, state, 0, count(*) FROM jobs.job GROUP BY queue, state;

INSERT INTO jobs.job_finished_minute (minute, queue, shard, completed, discarded, cancelled)
SELECT date_trunc('minute', finalized_at), queue, 0,
       count(*) FILTER (WHERE state = 'completed'),
       count(*) FILTER (WHERE state = 'discarded'),
       count(*) FILTER (WHERE state = 'cancelled')
FROM jobs.job
WHERE state IN ('completed', 'discarded', 'cancelled')
  AND finalized_at >= now() - interval '1 day'
GROUP BY 1, 2;

GRANT SELECT, INSERT, UPDATE ON jobs.job_count, jobs.job_finished_minute TO jobs_app;
GRANT DELETE ON jobs.job_finished_minute TO jobs_app;
GRANT EXECUTE ON FUNCTION jobs.count_jobs_inserted_or_deleted(), jobs.count_jobs_updated(),
    jobs.count_jobs_truncated() TO jobs_app;

-- migrate:down
DROP TRIGGER job_inserted_count ON jobs.job;
DROP TRIGGER job_updated_count ON jobs.job;
DROP TRIGGER job_deleted_count ON jobs.job;
DROP TRIGGER job_truncated_count ON jobs.job;
DROP FUNCTION jobs.count_jobs_inserted_or_deleted(), jobs.count_jobs_updated(), jobs.count_jobs_truncated();
DROP TABLE jobs.job_count, jobs.job_finished_minute;
