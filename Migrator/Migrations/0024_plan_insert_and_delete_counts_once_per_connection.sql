-- Purpose: an enqueue no longer plans its count statement again at every insert. The Api and the
--   Worker connect with plan_cache_mode=force_custom_plan (JobsConnectionSettings), and the
--   statement of jobs.count_jobs_inserted_or_deleted read the trigger's TG_OP (CASE TG_OP WHEN
--   'INSERT' ...): a PL/pgSQL variable is a parameter of the statement, and a statement with a
--   parameter is planned anew at each execution on such a connection. Every INSERT into jobs.job
--   paid that planning (an insert of 10 jobs, pgbench at force_custom_plan, three alternated
--   rounds: 0.38-0.42 ms before, 0.27-0.33 after), and an enqueue's planning is part of every job's
--   wait for a Worker: a job's created_at is taken when its insert starts. The function now picks
--   one of two statements by TG_OP and neither reads a variable: each keeps one plan per
--   connection (a statement without parameters always keeps its plan, whatever plan_cache_mode).
-- Owner: the Migrator. The function runs as the role that changes jobs.job (jobs_app); only its
--   body changes.
-- Expects: migration 8 (the function's current body; migration 9 added its trigger on
--   jobs.job_history). Replaces one function (same signature, same triggers): no table is touched,
--   no lock is held past the catalog change. Sessions already running pick up the new body at
--   their next call; the counts are written the same way.
-- Result: jobs.count_jobs_inserted_or_deleted() adds count(*) per queue and state on INSERT and
--   subtracts it on DELETE, as before, in two statements without parameters.
-- Rollback: the function of migration 8.
-- Transaction: yes

-- migrate:up
-- One statement per operation rather than one reading TG_OP: see Purpose. They differ only in
-- the sign of the count.
CREATE OR REPLACE FUNCTION jobs.count_jobs_inserted_or_deleted() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO jobs.job_count AS c (queue, state, shard, n)
        SELECT queue, state, pg_backend_pid() % 64, count(*)
        FROM changed_rows
        GROUP BY queue, state
        ORDER BY queue, state
        ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO jobs.job_count AS c (queue, state, shard, n)
        SELECT queue, state, pg_backend_pid() % 64, -count(*)
        FROM changed_rows
        GROUP BY queue, state
        ORDER BY queue, state
        ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION jobs.count_jobs_inserted_or_deleted() RETURNS trigger
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
