-- Purpose: a step that runs whatever its dependencies' outcomes (onDependencyFailure 'run') waits for
--   every dependency again when a failed one is retried. It counted the failed dependency off when
--   that failed; the retried job counted it off a second time when it finalized again, so a step
--   waiting for A and B was released when A was discarded, retried and completed, with B still
--   running. jobs.recount_batch_members (migration 17) did this for batch callbacks only; it now
--   counts back every waiting 'run' dependent, and still tallies a batch's counts.
-- Owner: the Migrator. The function runs as the caller (jobs_app), which may write the tables.
-- Expects: migration 17. Replaces one function: no table is touched, no lock is held past the
--   catalog change.
-- Result: jobs.recount_batch_members(bigint[], jobs.job_state[]) that counts back workflow steps too.
-- Rollback: the function of migration 17 (batch callbacks only).
-- Transaction: yes

-- migrate:up
-- Called by RetryJob and RetryJobsBatch for finished jobs brought back from the history, with the
-- final states they had. Every dependent still waiting that runs whatever its dependencies' outcomes
-- (a workflow step with onDependencyFailure 'run', a batch's callback) counted each of them off when
-- it failed; it waits for each again, so the job counts once, when it finalizes again; a batch also
-- takes the old outcome off its counts. A dependent that is cancelled when a dependency fails is
-- not waiting (it was cancelled), or was just revived by jobs.revive_dependents in this statement,
-- counting the job as not completed: neither is touched. A batch that fired is done: its callback
-- waits no more and nothing changes. Locks the waiting rows in id order, as
-- jobs.resolve_dependents does. Named for batches (migration 17); since migration 19 it counts
-- back workflow steps too. Returns how many dependencies were counted back.
CREATE OR REPLACE FUNCTION jobs.recount_batch_members(p_ids bigint[], p_states jobs.job_state[])
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
    WHERE p.id IN (SELECT d.dependent_id FROM jobs.job_dependency AS d WHERE d.job_id = ANY (p_ids))
      AND p.on_dependency_failure = 'run'
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
        GROUP BY d.dependent_id
    ), waiting AS (
        UPDATE jobs.job_pending AS p
        SET waiting_on = p.waiting_on + h.members
        FROM hits AS h
        WHERE p.id = h.id
          AND p.on_dependency_failure = 'run'
        RETURNING p.id, h.members
    ), tallied AS (
        UPDATE jobs.batch AS b
        SET completed = b.completed - h.completed,
            discarded = b.discarded - h.discarded,
            cancelled = b.cancelled - h.cancelled
        FROM hits AS h
        JOIN waiting AS w ON w.id = h.id
        WHERE b.callback_id = h.id
    )
    SELECT coalesce(sum(w.members), 0) INTO recounted FROM waiting AS w;
    RETURN recounted;
END
$$;

-- migrate:down
-- Called by RetryJob and RetryJobsBatch for finished jobs brought back from the history, with the
-- final states they had: a batch whose callback still waits counted each of them off; it waits for
-- each again and takes its old outcome off its counts, so the member counts once, when it
-- finalizes again. A batch that fired is done: its callback waits no more and nothing changes.
-- Locks the waiting rows in id order, as jobs.resolve_dependents does. Returns how many members
-- were counted back.
CREATE OR REPLACE FUNCTION jobs.recount_batch_members(p_ids bigint[], p_states jobs.job_state[])
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
