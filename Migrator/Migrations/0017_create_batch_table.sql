-- Purpose: batches (issue 16): a set of jobs with a callback job that runs once when every job of
--   the set is finalized, with the counts (completed, discarded, cancelled) merged into its args
--   under "batch". Built on the workflow machinery of migration 15: the callback waits in
--   jobs.job_pending for every member (one jobs.job_dependency edge per member, policy 'run', so a
--   failed member never cancels it), and each member has has_dependents, so the statements that
--   finalize jobs resolve it as they resolve a workflow step, under the same lock of the waiting row.
--   An open batch holds one more count in the callback's waiting_on (the open token): members can
--   be added and the callback cannot fire; sealing removes the token. The counts are kept on the
--   batch row by jobs.resolve_dependents, so they survive a Worker that keeps no history.
-- Owner: the Migrator. The functions run as the caller (jobs_app), which may write the tables.
-- Expects: migration 16. The new table is empty; no column or index of jobs.job changes.
-- Result: table jobs.batch; function jobs.release_pending (moves ready waiting jobs into jobs.job,
--   a batch callback with its counts), which jobs.resolve_dependents now calls and which sealing
--   calls; jobs.resolve_dependents also tallies a batch's counts; function
--   jobs.recount_batch_members (a finished member retried by hand before its batch fired counts
--   again when it finalizes again).
-- Rollback: drops the two new functions and jobs.batch (open batches and their counts are lost;
--   their callbacks stay in jobs.job_pending, waiting for an open token nobody can remove: cancel
--   them by hand) and restores jobs.resolve_dependents of migration 15. Workers and Apis of this
--   version need them: roll back with them.
-- Transaction: yes

-- migrate:up
SET LOCAL lock_timeout = '5s';

-- One row per batch. The callback's id is drawn from jobs.job's identity when the batch is created;
-- it waits in jobs.job_pending until the batch fires. job_count counts the members added; completed,
-- discarded and cancelled count the members finalized so far (each once: see
-- jobs.recount_batch_members). sealed_at: no member may be added since; fired_at: the callback
-- entered jobs.job (its args carry the counts as they were then).
CREATE TABLE jobs.batch (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    callback_id bigint      NOT NULL,
    name        text,
    job_count   integer     NOT NULL DEFAULT 0,
    completed   integer     NOT NULL DEFAULT 0,
    discarded   integer     NOT NULL DEFAULT 0,
    cancelled   integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text,
    sealed_at   timestamptz,
    fired_at    timestamptz,
    CONSTRAINT batch_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT batch_counts CHECK (completed >= 0 AND discarded >= 0 AND cancelled >= 0
                                   AND completed + discarded + cancelled <= job_count),
    CONSTRAINT batch_fired_sealed CHECK (fired_at IS NULL OR sealed_at IS NOT NULL)
);
-- The finishing path finds a waiting job's batch by its id (a workflow step has none: one probe).
CREATE UNIQUE INDEX batch_callback_idx ON jobs.batch (callback_id);

-- Moves the waiting jobs among p_ids that have nothing left to wait for (and no failed dependency,
-- or running anyway) into jobs.job, available now, keeping their ids; a batch's callback gets
-- {"batch": {"id", "total", "completed", "discarded", "cancelled"}} merged into its args and its
-- batch is marked fired. The caller holds the locks of those rows (jobs.resolve_dependents, or the
-- seal after LockBatchCallback), and counted them in an earlier statement, which this one sees.
-- Returns how many moved.
CREATE FUNCTION jobs.release_pending(p_ids bigint[])
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

-- Migration 15's function, with two changes: a dependent that is a batch's callback has its
-- batch's counts raised by its members' final states, under the lock of its waiting row (so
-- concurrent finishers of one batch add up, each once); and the release of ready dependents is
-- jobs.release_pending, which merges those counts into the callback's args.
CREATE OR REPLACE FUNCTION jobs.resolve_dependents(p_ids bigint[], p_states jobs.job_state[], p_keep_history boolean)
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
AS
$$
DECLARE
    ids      bigint[]         := p_ids;
    states   jobs.job_state[] := p_states;
    touched  bigint[];
    released integer          := 0;
BEGIN
    WHILE coalesce(cardinality(ids), 0) > 0 LOOP
        PERFORM 1
        FROM jobs.job_pending AS p
        WHERE p.id IN (SELECT d.dependent_id FROM jobs.job_dependency AS d WHERE d.job_id = ANY (ids))
        ORDER BY p.id
        FOR UPDATE;

        WITH hits AS (
            SELECT d.dependent_id AS id,
                   count(*)::integer AS finished,
                   count(*) FILTER (WHERE f.state = 'completed')::integer AS completed,
                   count(*) FILTER (WHERE f.state = 'discarded')::integer AS discarded,
                   count(*) FILTER (WHERE f.state = 'cancelled')::integer AS cancelled,
                   min(f.id) FILTER (WHERE f.state <> 'completed') AS failed_id,
                   (array_agg(f.state ORDER BY f.id) FILTER (WHERE f.state <> 'completed'))[1] AS failed_state
            FROM unnest(ids, states) AS f (id, state)
            JOIN jobs.job_dependency AS d ON d.job_id = f.id
            GROUP BY d.dependent_id
        ), counted AS (
            UPDATE jobs.job_pending AS p
            SET waiting_on = p.waiting_on - h.finished,
                failed_dependency = coalesce(p.failed_dependency, h.failed_id),
                failed_state = CASE WHEN p.failed_dependency IS NULL THEN h.failed_state ELSE p.failed_state END
            FROM hits AS h
            WHERE p.id = h.id
            RETURNING p.id
        ), tallied AS (
            UPDATE jobs.batch AS b
            SET completed = b.completed + h.completed,
                discarded = b.discarded + h.discarded,
                cancelled = b.cancelled + h.cancelled
            FROM hits AS h
            JOIN counted AS c ON c.id = h.id
            WHERE b.callback_id = h.id
        )
        SELECT array_agg(c.id) INTO touched FROM counted AS c;

        EXIT WHEN touched IS NULL;

        WITH gone AS (
            DELETE FROM jobs.job_pending AS p
            WHERE p.id = ANY (touched)
              AND p.failed_dependency IS NOT NULL
              AND p.on_dependency_failure = 'cancel'
            RETURNING p.*
        ), kept AS (
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                          attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
            SELECT g.id, 'cancelled', g.queue, g.kind, g.args, g.priority, 0, g.max_attempts, g.created_at, g.created_at,
                   NULL, now(), NULL,
                   g.errors || jsonb_build_array(jsonb_build_object(
                       'attempt', 0,
                       'at', now(),
                       'type', 'DependencyFailed',
                       'dependency', g.failed_dependency,
                       'message', 'dependency ' || g.failed_dependency || coalesce(' (step ''' || s.step || ''')', '')
                                  || ' ended ' || g.failed_state || ', so this job was cancelled')),
                   NULL, g.trace_parent, g.created_by
            FROM gone AS g
            LEFT JOIN jobs.workflow_step AS s ON s.job_id = g.failed_dependency
            WHERE p_keep_history
        )
        SELECT coalesce(array_agg(g.id), '{}'), coalesce(array_agg('cancelled'::jobs.job_state), '{}')
        INTO ids, states
        FROM gone AS g;

        released := released + jobs.release_pending(touched);
    END LOOP;

    RETURN released;
END
$$;

-- Called by RetryJob and RetryJobsBatch for finished jobs brought back from the history, with the
-- final states they had: a batch whose callback still waits counted each of them off; it waits for
-- each again and takes its old outcome off its counts, so the member counts once, when it
-- finalizes again. A batch that fired is done: its callback waits no more and nothing changes.
-- Locks the waiting rows in id order, as jobs.resolve_dependents does. Returns how many members
-- were counted back.
CREATE FUNCTION jobs.recount_batch_members(p_ids bigint[], p_states jobs.job_state[])
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
AS
$$
DECLARE
    recounted integer;
BEGIN
    PERFORM 1
    FROM jobs.job_pending AS p
    WHERE p.id IN (SELECT b.callback_id
                   FROM jobs.job_dependency AS d
                   JOIN jobs.batch AS b ON b.callback_id = d.dependent_id
                   WHERE d.job_id = ANY (p_ids))
    ORDER BY p.id
    FOR UPDATE;

    WITH hits AS (
        SELECT d.dependent_id AS id,
               count(*)::integer AS members,
               count(*) FILTER (WHERE f.state = 'completed')::integer AS completed,
               count(*) FILTER (WHERE f.state = 'discarded')::integer AS discarded,
               count(*) FILTER (WHERE f.state = 'cancelled')::integer AS cancelled
        FROM unnest(p_ids, p_states) AS f (id, state)
        JOIN jobs.job_dependency AS d ON d.job_id = f.id
        JOIN jobs.batch AS b ON b.callback_id = d.dependent_id
        GROUP BY d.dependent_id
    ), waiting AS (
        UPDATE jobs.job_pending AS p
        SET waiting_on = p.waiting_on + h.members
        FROM hits AS h
        WHERE p.id = h.id
        RETURNING p.id
    ), tallied AS (
        UPDATE jobs.batch AS b
        SET completed = b.completed - h.completed,
            discarded = b.discarded - h.discarded,
            cancelled = b.cancelled - h.cancelled
        FROM hits AS h
        JOIN waiting AS w ON w.id = h.id
        WHERE b.callback_id = h.id
        RETURNING h.members
    )
    SELECT coalesce(sum(t.members), 0) INTO recounted FROM tallied AS t;
    RETURN recounted;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.batch TO jobs_app;
GRANT EXECUTE ON FUNCTION jobs.release_pending(bigint[]), jobs.recount_batch_members(bigint[], jobs.job_state[]) TO jobs_app;

-- migrate:down
SET LOCAL lock_timeout = '5s';
CREATE OR REPLACE FUNCTION jobs.resolve_dependents(p_ids bigint[], p_states jobs.job_state[], p_keep_history boolean)
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
AS
$$
DECLARE
    ids      bigint[]         := p_ids;
    states   jobs.job_state[] := p_states;
    touched  bigint[];
    released integer          := 0;
BEGIN
    WHILE coalesce(cardinality(ids), 0) > 0 LOOP
        PERFORM 1
        FROM jobs.job_pending AS p
        WHERE p.id IN (SELECT d.dependent_id FROM jobs.job_dependency AS d WHERE d.job_id = ANY (ids))
        ORDER BY p.id
        FOR UPDATE;

        WITH hits AS (
            SELECT d.dependent_id AS id,
                   count(*)::integer AS finished,
                   min(f.id) FILTER (WHERE f.state <> 'completed') AS failed_id,
                   (array_agg(f.state ORDER BY f.id) FILTER (WHERE f.state <> 'completed'))[1] AS failed_state
            FROM unnest(ids, states) AS f (id, state)
            JOIN jobs.job_dependency AS d ON d.job_id = f.id
            GROUP BY d.dependent_id
        ), counted AS (
            UPDATE jobs.job_pending AS p
            SET waiting_on = p.waiting_on - h.finished,
                failed_dependency = coalesce(p.failed_dependency, h.failed_id),
                failed_state = CASE WHEN p.failed_dependency IS NULL THEN h.failed_state ELSE p.failed_state END
            FROM hits AS h
            WHERE p.id = h.id
            RETURNING p.id
        )
        SELECT array_agg(c.id) INTO touched FROM counted AS c;

        EXIT WHEN touched IS NULL;

        WITH gone AS (
            DELETE FROM jobs.job_pending AS p
            WHERE p.id = ANY (touched)
              AND p.failed_dependency IS NOT NULL
              AND p.on_dependency_failure = 'cancel'
            RETURNING p.*
        ), kept AS (
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                          attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
            SELECT g.id, 'cancelled', g.queue, g.kind, g.args, g.priority, 0, g.max_attempts, g.created_at, g.created_at,
                   NULL, now(), NULL,
                   g.errors || jsonb_build_array(jsonb_build_object(
                       'attempt', 0,
                       'at', now(),
                       'type', 'DependencyFailed',
                       'dependency', g.failed_dependency,
                       'message', 'dependency ' || g.failed_dependency || coalesce(' (step ''' || s.step || ''')', '')
                                  || ' ended ' || g.failed_state || ', so this job was cancelled')),
                   NULL, g.trace_parent, g.created_by
            FROM gone AS g
            LEFT JOIN jobs.workflow_step AS s ON s.job_id = g.failed_dependency
            WHERE p_keep_history
        )
        SELECT coalesce(array_agg(g.id), '{}'), coalesce(array_agg('cancelled'::jobs.job_state), '{}')
        INTO ids, states
        FROM gone AS g;

        WITH ready AS (
            DELETE FROM jobs.job_pending AS p
            WHERE p.id = ANY (touched)
              AND p.waiting_on <= 0
              AND (p.failed_dependency IS NULL OR p.on_dependency_failure = 'run')
            RETURNING p.*
        ), moved AS (
            INSERT INTO jobs.job (id, state, queue, kind, args, priority, max_attempts, run_at, created_at, errors,
                                  trace_parent, created_by, has_dependents)
            OVERRIDING SYSTEM VALUE
            SELECT r.id, 'available', r.queue, r.kind, r.args, r.priority, r.max_attempts, now(), r.created_at, r.errors,
                   r.trace_parent, r.created_by, EXISTS (SELECT 1 FROM jobs.job_dependency AS d WHERE d.job_id = r.id)
            FROM ready AS r
            RETURNING 1
        )
        SELECT released + count(*) INTO released FROM moved;
    END LOOP;

    RETURN released;
END
$$;
DROP FUNCTION jobs.recount_batch_members(bigint[], jobs.job_state[]);
DROP FUNCTION jobs.release_pending(bigint[]);
DROP TABLE jobs.batch;
