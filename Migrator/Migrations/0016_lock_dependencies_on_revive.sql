-- Purpose: a step's retry counts each dependency of the dependents it revives exactly once.
--   jobs.revive_dependents (migration 15) counted the dependencies a revived dependent still waits
--   for in one statement with one snapshot: a sibling dependency whose finish was in flight (deleted
--   from jobs.job, not yet committed) was counted as not completed, and its finish, which ran its
--   resolution before the revived row existed, never counted it off: the dependent waited forever.
--   Now the live dependencies are locked first (FOR KEY SHARE: such a finish's DELETE holds its row,
--   so the retry waits for it to commit; a later finish waits for the retry), and the count is taken
--   by the next statement, whose snapshot sees every finish committed meanwhile.
-- Owner: the Migrator. The function runs as the caller (jobs_app), which holds UPDATE on jobs.job
--   (a row lock needs it).
-- Expects: migration 15. Replaces one function: no table is touched.
-- Result: jobs.revive_dependents(bigint) with the lock and the two-step count.
-- Rollback: the function of migration 15.
-- Transaction: yes

-- migrate:up
-- Called by RetryJob for a job brought back from the history: the dependents it cancelled (and
-- theirs, down the chain: jobs in the history cancelled with a DependencyFailed error) wait again
-- in jobs.job_pending, each for its dependencies that have not completed. Their dependencies still
-- live are locked first (FOR KEY SHARE: a finish's DELETE waits for this transaction), and the
-- count is taken by a later statement, with a snapshot that sees any finish that committed
-- meanwhile: a dependency finishing concurrently is counted once, either as completed here or by
-- its own finish, which then finds the revived row. Returns how many.
CREATE OR REPLACE FUNCTION jobs.revive_dependents(p_id bigint)
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
AS
$$
DECLARE
    chain   bigint[];
    revived integer;
BEGIN
    WITH RECURSIVE down (id) AS (
        SELECT d.dependent_id FROM jobs.job_dependency AS d WHERE d.job_id = p_id
        UNION
        SELECT d.dependent_id
        FROM down
        JOIN jobs.job_dependency AS d ON d.job_id = down.id
        WHERE EXISTS (SELECT 1 FROM jobs.job_history AS h
                      WHERE h.id = down.id AND h.state = 'cancelled' AND h.errors -> -1 ->> 'type' = 'DependencyFailed')
    )
    SELECT array_agg(h.id) INTO chain
    FROM down
    JOIN jobs.job_history AS h ON h.id = down.id
    WHERE h.state = 'cancelled'
      AND h.errors -> -1 ->> 'type' = 'DependencyFailed';

    IF chain IS NULL THEN
        RETURN 0;
    END IF;

    PERFORM 1
    FROM jobs.job AS j
    WHERE j.id IN (SELECT d.job_id FROM jobs.job_dependency AS d WHERE d.dependent_id = ANY (chain))
    ORDER BY j.id
    FOR KEY SHARE;

    WITH gone AS (
        DELETE FROM jobs.job_history AS h
        WHERE h.id = ANY (chain)
          AND h.state = 'cancelled'
        RETURNING h.*
    ), waiting AS (
        INSERT INTO jobs.job_pending (id, queue, kind, args, priority, max_attempts, created_at, errors, trace_parent,
                                      created_by, waiting_on, on_dependency_failure)
        SELECT g.id, g.queue, g.kind, g.args, g.priority, g.max_attempts, g.created_at, g.errors, g.trace_parent, g.created_by,
               (SELECT count(*) FROM jobs.job_dependency AS d
                WHERE d.dependent_id = g.id
                  AND NOT EXISTS (SELECT 1 FROM jobs.job_history AS c WHERE c.id = d.job_id AND c.state = 'completed')),
               coalesce(s.on_dependency_failure, 'cancel')
        FROM gone AS g
        LEFT JOIN jobs.workflow_step AS s ON s.job_id = g.id
        RETURNING 1
    )
    SELECT count(*) INTO revived FROM waiting;
    RETURN revived;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION jobs.revive_dependents(p_id bigint)
    RETURNS integer
    LANGUAGE plpgsql
    SET enable_nestloop = on
AS
$$
DECLARE
    revived integer;
BEGIN
    WITH RECURSIVE down (id) AS (
        SELECT d.dependent_id FROM jobs.job_dependency AS d WHERE d.job_id = p_id
        UNION
        SELECT d.dependent_id
        FROM down
        JOIN jobs.job_dependency AS d ON d.job_id = down.id
        WHERE EXISTS (SELECT 1 FROM jobs.job_history AS h
                      WHERE h.id = down.id AND h.state = 'cancelled' AND h.errors -> -1 ->> 'type' = 'DependencyFailed')
    ), gone AS (
        DELETE FROM jobs.job_history AS h
        USING down
        WHERE h.id = down.id
          AND h.state = 'cancelled'
          AND h.errors -> -1 ->> 'type' = 'DependencyFailed'
        RETURNING h.*
    ), waiting AS (
        INSERT INTO jobs.job_pending (id, queue, kind, args, priority, max_attempts, created_at, errors, trace_parent,
                                      created_by, waiting_on, on_dependency_failure)
        SELECT g.id, g.queue, g.kind, g.args, g.priority, g.max_attempts, g.created_at, g.errors, g.trace_parent, g.created_by,
               (SELECT count(*) FROM jobs.job_dependency AS d
                WHERE d.dependent_id = g.id
                  AND NOT EXISTS (SELECT 1 FROM jobs.job_history AS c WHERE c.id = d.job_id AND c.state = 'completed')),
               coalesce(s.on_dependency_failure, 'cancel')
        FROM gone AS g
        LEFT JOIN jobs.workflow_step AS s ON s.job_id = g.id
        RETURNING 1
    )
    SELECT count(*) INTO revived FROM waiting;
    RETURN revived;
END
$$;
