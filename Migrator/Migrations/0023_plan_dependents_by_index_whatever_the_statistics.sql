-- Purpose: finishing a job that many others wait for, or releasing many batch callbacks at once, no
--   longer risks a stall of seconds. Two more statements of the dependents' functions were planned,
--   on statistics of the workflow tables taken before the rows they met were added, as nested loops
--   that compare every row with every other (migration 22 mended a third):
--   - jobs.resolve_dependents locked the waiting dependents with "p.id IN (SELECT dependent_id ...)".
--     Planned on a jobs.job_pending vacuumed while empty (a finished chain's steps all released),
--     that was every waiting row in key order, each compared with all the finished job's dependents:
--     a 10,002-step fan-out's root, finished, took 5.8 s (auto_explain; the bench's fan-out 7.1 s
--     instead of 1.2-1.5, and 31.4 s in a full run). The dependents are now read first, into an
--     array, and the waiting rows found by job_pending_pkey: one index probe a dependent.
--   - jobs.release_pending read each released callback's batch outcome by joining its ready rows to
--     the batches it had just marked fired (two CTEs). On statistics of jobs.job_pending taken while
--     every waiting job still waited (no row with waiting_on <= 0), 2,005 single-job batches fired by
--     one finish compared 2,005 callbacks with 2,005 batches (4,018,020 rows thrown away by a join
--     filter). The outcome is now read from jobs.batch itself, by batch_callback_idx. The counts it
--     reads are the ones the fired rows returned: this statement changes only fired_at, and the
--     counts were raised by earlier statements of the same transaction (jobs.resolve_dependents, or
--     the seal), under the lock of the callback's waiting row.
--   Not mended here: on a jobs.job_pending whose statistics say it is empty, the statement counting
--   dependents off can still be planned with every waiting row as the outer side (2,001,000 rows for
--   2,000 dependents in QueryPlanTests' tables; not seen in the bench).
-- Owner: the Migrator. The functions run as the caller (jobs_app); only their bodies change.
-- Expects: migration 22. Replaces two functions (same signatures and settings): no table is touched,
--   no lock is held past the catalog change. Workers and Apis of the version before run unchanged.
-- Result: jobs.resolve_dependents locking its waiting dependents by primary key; jobs.release_pending
--   reading batch outcomes from jobs.batch.
-- Rollback: jobs.resolve_dependents of migration 22 and jobs.release_pending of migration 20.
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
        RETURNING b.callback_id
    ), moved AS (
        INSERT INTO jobs.job (id, state, queue, kind, args, priority, max_attempts, run_at, created_at, errors,
                              trace_parent, created_by, has_dependents)
        OVERRIDING SYSTEM VALUE
        SELECT r.id, 'available', r.queue, r.kind,
               CASE WHEN b.id IS NULL THEN r.args
                    ELSE r.args || jsonb_build_object('batch', jsonb_build_object('id', b.id, 'total', b.job_count, 'completed', b.completed,
                                                                                  'discarded', b.discarded, 'cancelled', b.cancelled)) END,
               r.priority, r.max_attempts, now(), r.created_at, r.errors,
               r.trace_parent, r.created_by, EXISTS (SELECT 1 FROM jobs.job_dependency AS d WHERE d.job_id = r.id)
        FROM ready AS r
        LEFT JOIN jobs.batch AS b ON b.callback_id = r.id
        RETURNING 1
    )
    -- Every ready job moves; the fired batches are those whose callback was among them.
    SELECT (SELECT count(*) FROM moved) - (SELECT count(*) FROM fired) INTO released;
    RETURN released;
END
$$;

-- Migration 22's function, with one change: the waiting dependents are locked by primary key, from an
-- array of their ids read first (see Purpose).
CREATE OR REPLACE FUNCTION jobs.resolve_dependents(p_ids bigint[], p_states jobs.job_state[], p_keep_history boolean)
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
    SET plan_cache_mode = force_custom_plan
    SET enable_seqscan = on
    SET enable_bitmapscan = on
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
        WHERE p.id = ANY (ARRAY(SELECT d.dependent_id FROM jobs.job_dependency AS d WHERE d.job_id = ANY (ids)))
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
            RETURNING p.id, h.completed, h.discarded, h.cancelled
        ), tallied AS (
            UPDATE jobs.batch AS b
            SET completed = b.completed + c.completed,
                discarded = b.discarded + c.discarded,
                cancelled = b.cancelled + c.cancelled
            FROM counted AS c
            WHERE b.callback_id = c.id
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
    -- Every ready job moves; the fired batches are those whose callback was among them.
    SELECT (SELECT count(*) FROM moved) - (SELECT count(*) FROM fired) INTO released;
    RETURN released;
END
$$;

CREATE OR REPLACE FUNCTION jobs.resolve_dependents(p_ids bigint[], p_states jobs.job_state[], p_keep_history boolean)
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
    SET plan_cache_mode = force_custom_plan
    SET enable_seqscan = on
    SET enable_bitmapscan = on
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
            RETURNING p.id, h.completed, h.discarded, h.cancelled
        ), tallied AS (
            UPDATE jobs.batch AS b
            SET completed = b.completed + c.completed,
                discarded = b.discarded + c.discarded,
                cancelled = b.cancelled + c.cancelled
            FROM counted AS c
            WHERE b.callback_id = c.id
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
