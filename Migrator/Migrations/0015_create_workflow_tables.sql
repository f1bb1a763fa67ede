-- Purpose: jobs that depend on other jobs (workflows). A job waiting for its dependencies is kept
--   out of jobs.job entirely, in jobs.job_pending: the claim walks job_claim_idx and filters the
--   state on the heap, and the due-time probe reads that index too, so a waiting job there would be
--   read (and passed over) by every claim of its queue. A waiting job enters jobs.job, available
--   with run_at = now(), in the transaction that finalizes its last dependency (the insert trigger
--   of jobs.job notifies its queue); a dependency ending discarded or cancelled cancels its
--   dependents (down the chain) unless a dependent runs anyway. Ordinary jobs pay one boolean:
--   jobs.job.has_dependents, set only for jobs some other job depends on and read in the RETURNING
--   of the statements that finalize jobs, which call jobs.resolve_dependents only for flagged rows.
--   It is in no index, so a claim stays a heap-only update.
-- Owner: the Migrator. The two functions run as the caller (jobs_app), which may write the tables.
-- Expects: migration 14; jobs.job may be live and large. The new column has a constant default,
--   which PostgreSQL stores in the catalog: no table rewrite, no scan; the ALTER takes ACCESS
--   EXCLUSIVE on jobs.job for that moment and waits at most 5 s for it (every claim would queue
--   behind a waiting ALTER); past that the migration fails, changes nothing, and is safe to run
--   again. The new tables are empty. No index of jobs.job changes.
-- Result: jobs.job.has_dependents (boolean, default false); tables jobs.workflow, jobs.workflow_step
--   (a step's name and job id), jobs.job_dependency (edges: job_id is depended on by dependent_id)
--   and jobs.job_pending (waiting jobs, ids from jobs.job's identity so a job keeps its id);
--   functions jobs.resolve_dependents and jobs.revive_dependents. Waiting jobs are not counted in
--   jobs.job_count (its states are the live table's and the history's): GET /workflows/{id} counts
--   a workflow's steps.
-- Rollback: drops the functions, the four tables (waiting jobs and workflow records are lost; jobs
--   already in jobs.job run on as ordinary jobs) and the column (ACCESS EXCLUSIVE, no rewrite).
--   Workers and Apis of this version need them: roll back with them.
-- Transaction: yes

-- migrate:up
SET LOCAL lock_timeout = '5s';

ALTER TABLE jobs.job ADD COLUMN has_dependents boolean NOT NULL DEFAULT false;

CREATE TABLE jobs.workflow (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text,
    step_count integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    CONSTRAINT workflow_name_length CHECK (char_length(name) BETWEEN 1 AND 200)
);

-- One row per step: GET /workflows/{id} reads a workflow's steps by (workflow_id, ordinal); a
-- cancelled dependent's error names its dependency's step (by job_id); a revived dependent reads its
-- policy here.
CREATE TABLE jobs.workflow_step (
    job_id                bigint  PRIMARY KEY,
    workflow_id           bigint  NOT NULL REFERENCES jobs.workflow (id) ON DELETE CASCADE,
    ordinal               integer NOT NULL,
    step                  text    NOT NULL,
    on_dependency_failure text    NOT NULL,
    CONSTRAINT workflow_step_name_length CHECK (char_length(step) BETWEEN 1 AND 128),
    CONSTRAINT workflow_step_policy CHECK (on_dependency_failure IN ('cancel', 'run')),
    CONSTRAINT workflow_step_unique_name UNIQUE (workflow_id, step)
);
CREATE UNIQUE INDEX workflow_step_ordinal_idx ON jobs.workflow_step (workflow_id, ordinal);

-- Edges are kept after they are resolved: a retried dependency revives the dependents it cancelled
-- (jobs.revive_dependents). The primary key finds the dependents of a finished job; the second index
-- a job's dependencies (GET /workflows/{id}, revival).
CREATE TABLE jobs.job_dependency (
    job_id       bigint NOT NULL,
    dependent_id bigint NOT NULL,
    PRIMARY KEY (job_id, dependent_id),
    CONSTRAINT job_dependency_not_self CHECK (job_id <> dependent_id)
);
CREATE INDEX job_dependency_dependent_idx ON jobs.job_dependency (dependent_id);

-- waiting_on: dependencies not yet finalized. failed_dependency: the first dependency that ended
-- discarded or cancelled (the job is cancelled at once, or, running anyway, waits for the rest).
CREATE TABLE jobs.job_pending (
    id                    bigint         PRIMARY KEY,
    queue                 text           NOT NULL,
    kind                  text           NOT NULL,
    args                  jsonb          NOT NULL,
    priority              smallint       NOT NULL,
    max_attempts          smallint       NOT NULL,
    created_at            timestamptz    NOT NULL DEFAULT now(),
    errors                jsonb          NOT NULL DEFAULT '[]',
    trace_parent          text,
    created_by            text,
    waiting_on            integer        NOT NULL,
    on_dependency_failure text           NOT NULL,
    failed_dependency     bigint,
    failed_state          jobs.job_state,
    CONSTRAINT job_pending_kind_length CHECK (char_length(kind) BETWEEN 1 AND 128),
    CONSTRAINT job_pending_queue_length CHECK (char_length(queue) BETWEEN 1 AND 64),
    CONSTRAINT job_pending_args_is_object CHECK (jsonb_typeof(args) = 'object'),
    CONSTRAINT job_pending_priority_range CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT job_pending_max_attempts_range CHECK (max_attempts BETWEEN 1 AND 1000),
    CONSTRAINT job_pending_policy CHECK (on_dependency_failure IN ('cancel', 'run'))
) WITH (fillfactor = 70);

-- Called by every statement that finalizes jobs, with the finalized jobs that have dependents and
-- their final states, in the same transaction. Each dependent counts its finished dependencies off;
-- one whose dependency failed is cancelled (into the history when p_keep_history), and its own
-- dependents are resolved in turn, down the chain; one with nothing left to wait for (and no failed
-- dependency, or running anyway) moves into jobs.job, available now, keeping its id. Waiting rows
-- are locked in id order first, so two finishers of one fan-in wait for each other instead of
-- deadlocking; the second sees the first's count. Nested loops are allowed here whatever the
-- calling transaction set (DisableNestedLoopsForThisTransaction): every join below starts from a
-- few ids and an index. Returns how many dependents became available.
CREATE FUNCTION jobs.resolve_dependents(p_ids bigint[], p_states jobs.job_state[], p_keep_history boolean)
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

-- Called by RetryJob for a job brought back from the history: the dependents it cancelled (and
-- theirs, down the chain: jobs in the history cancelled with a DependencyFailed error) wait again
-- in jobs.job_pending, each for its dependencies that have not completed. Returns how many.
CREATE FUNCTION jobs.revive_dependents(p_id bigint)
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

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.workflow, jobs.workflow_step, jobs.job_dependency, jobs.job_pending TO jobs_app;
GRANT USAGE ON SEQUENCE jobs.job_id_seq TO jobs_app;
GRANT EXECUTE ON FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean), jobs.revive_dependents(bigint) TO jobs_app;

-- migrate:down
SET LOCAL lock_timeout = '5s';
DROP FUNCTION jobs.revive_dependents(bigint);
DROP FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean);
DROP TABLE jobs.job_pending, jobs.job_dependency, jobs.workflow_step, jobs.workflow;
ALTER TABLE jobs.job DROP COLUMN has_dependents;
