-- Purpose: the counter job.workflow.steps.released counts workflow steps only. jobs.release_pending
--   returned every waiting job it moved into jobs.job, a batch's fired callback among them, so a
--   finish, a rescue or a cancel that fired a batch counted its callback as a released workflow
--   step. It now returns the workflow steps it moved; whether a batch's callback fired is read
--   from jobs.job by the statement after it (ReleaseBatchCallback, then SelectCallbackFired).
-- Owner: the Migrator. The function runs as the caller (jobs_app), which may write the tables.
-- Expects: migration 19. Replaces one function (same signature): no table is touched, no lock is
--   held past the catalog change. An Api of the version before reads a closing batch's callback
--   as not fired (the response says sealed; the callback runs all the same) until it is updated.
-- Result: jobs.release_pending(bigint[]) returning how many workflow steps it moved.
-- Rollback: the function of migration 17 (every job moved, callbacks included).
-- Transaction: yes

-- migrate:up
-- Moves the waiting jobs among p_ids that have nothing left to wait for (and no failed dependency,
-- or running anyway) into jobs.job, available now, keeping their ids; a batch's callback gets
-- {"batch": {"id", "total", "completed", "discarded", "cancelled"}} merged into its args and its
-- batch is marked fired. The caller holds the locks of those rows (jobs.resolve_dependents, or the
-- seal after LockBatchCallback), and counted them in an earlier statement, which this one sees.
-- Returns how many workflow steps moved (a fired batch's callback is not one).
CREATE OR REPLACE FUNCTION jobs.release_pending(p_ids bigint[])
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
AS
$$
DECLARE
    released integer;
BEGIN
    WITH ready AS (
        DELETE FROM jobs.job_pending AS p
        WHERE p.id = ANY (p_ids)
          AND p.waiting_on <= 0
          AND (p.failed_dependency IS NULL OR p.on_dependency_failure = 'run')
        RETURNING p.*
    ), fired AS (
        UPDATE jobs.batch AS b
        SET fired_at = now()
        FROM ready AS r
        WHERE b.callback_id = r.id
        RETURNING b.callback_id,
                  jsonb_build_object('id', b.id, 'total', b.job_count, 'completed', b.completed,
                                     'discarded', b.discarded, 'cancelled', b.cancelled) AS outcome
    ), moved AS (
        INSERT INTO jobs.job (id, state, queue, kind, args, priority, max_attempts, run_at, created_at, errors,
                              trace_parent, created_by, has_dependents)
        OVERRIDING SYSTEM VALUE
        SELECT r.id, 'available', r.queue, r.kind,
               CASE WHEN f.outcome IS NULL THEN r.args ELSE r.args || jsonb_build_object('batch', f.outcome) END,
               r.priority, r.max_attempts, now(), r.created_at, r.errors,
               r.trace_parent, r.created_by, EXISTS (SELECT 1 FROM jobs.job_dependency AS d WHERE d.job_id = r.id)
        FROM ready AS r
        LEFT JOIN fired AS f ON f.callback_id = r.id
        RETURNING 1
    )
    -- Every ready job moves; the fired batches are those whose callback was among them.
    SELECT (SELECT count(*) FROM moved) - (SELECT count(*) FROM fired) INTO released;
    RETURN released;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION jobs.release_pending(p_ids bigint[])
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
AS
$$
DECLARE
    released integer;
BEGIN
    WITH ready AS (
        DELETE FROM jobs.job_pending AS p
        WHERE p.id = ANY (p_ids)
          AND p.waiting_on <= 0
          AND (p.failed_dependency IS NULL OR p.on_dependency_failure = 'run')
        RETURNING p.*
    ), fired AS (
        UPDATE jobs.batch AS b
        SET fired_at = now()
        FROM ready AS r
        WHERE b.callback_id = r.id
        RETURNING b.callback_id,
                  jsonb_build_object('id', b.id, 'total', b.job_count, 'completed', b.completed,
                                     'discarded', b.discarded, 'cancelled', b.cancelled) AS outcome
    ), moved AS (
        INSERT INTO jobs.job (id, state, queue, kind, args, priority, max_attempts, run_at, created_at, errors,
                              trace_parent, created_by, has_dependents)
        OVERRIDING SYSTEM VALUE
        SELECT r.id, 'available', r.queue, r.kind,
               CASE WHEN f.outcome IS NULL THEN r.args ELSE r.args || jsonb_build_object('batch', f.outcome) END,
               r.priority, r.max_attempts, now(), r.created_at, r.errors,
               r.trace_parent, r.created_by, EXISTS (SELECT 1 FROM jobs.job_dependency AS d WHERE d.job_id = r.id)
        FROM ready AS r
        LEFT JOIN fired AS f ON f.callback_id = r.id
        RETURNING 1
    )
    SELECT count(*) INTO released FROM moved;
    RETURN released;
END
$$;
