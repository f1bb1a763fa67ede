-- Purpose: finishing a job that many others wait for no longer risks a stall of seconds.
--   jobs.resolve_dependents, having counted a finished job's dependents off, joined the counted rows
--   to their counts (two CTEs) to raise the counts of the batches among them. Planned on statistics
--   of jobs.job_dependency taken while each job had one dependent, before a wide workflow was added,
--   that join was a nested loop of one CTE over the other: a 10,002-step fan-out's root, finished,
--   compared 10,000 counted rows with 10,000 counts (100,000,000 comparisons), and the Worker's
--   outcome write took 12 s (auto_explain; the bench's fan-out took 13.6 s instead of 1.2-1.9 in 1
--   of 10 workflow-only runs). The counted rows now carry their counts and the batches are joined to
--   them alone, by batch_callback_idx: one index probe a dependent, whatever the statistics say.
-- Owner: the Migrator. The function runs as the caller (jobs_app); only its body changes.
-- Expects: migration 21 (the function of migration 17 with the settings of migration 21). Replaces
--   one function (same signature and settings): no table is touched, no lock is held past the
--   catalog change. Workers of the version before run unchanged.
-- Result: jobs.resolve_dependents(bigint[], jobs.job_state[], boolean), counting batches from the
--   counted rows.
-- Rollback: the function of migration 17, with the settings of migration 21.
-- Transaction: yes

-- migrate:up
-- Migration 17's function, with one change: the counted rows return the counts of their batch, so
-- the batch update joins nothing else (see Purpose).
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

-- migrate:down
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
