-- The Api's own queries on jobs.job and jobs.kind (enqueue, get, cancel and retry are the
-- engine's, in JobEngine/Sql/job.sql). Parameters are positional, never text built from input.

-- name: SetCreatedBy
-- For the rest of the enqueue transaction, new jobs record this API key name (the default of
-- jobs.job.created_by, migration 3).
SELECT set_config('jobs.created_by', $1, true);

-- name: SelectCreatedBy
SELECT created_by FROM jobs.job WHERE id = $1;

-- name: SelectRegisteredKinds
SELECT kind FROM jobs.kind ORDER BY kind;

-- name: ListJobs
-- Newest first, one page after the cursor id $4 (keyset: never OFFSET). Each filter is null or a
-- value; Npgsql sends unprepared statements, so every call is planned with its values and the
-- null filters fold away. The inner query picks the page's ids alone, so a filter is an
-- index-only backward scan of (state, id), (queue, id) or (kind, id) from migration 2 (no filter:
-- the primary key); only the page's rows are then read. Selecting every column in one query let
-- the planner prefer a backward scan of the primary key with a filter, which it believes finds a
-- page at once but which crosses every newer row of other queues (1.5 million in the benchmark).
SELECT id, state::text, queue, kind, priority, attempt, max_attempts, run_at, created_at,
       finalized_at, errors -> -1 ->> 'message' AS last_error
FROM jobs.job
WHERE id IN (
    SELECT id
    FROM jobs.job
    WHERE ($1::text IS NULL OR state = $1::jobs.job_state)
      AND ($2::text IS NULL OR queue = $2)
      AND ($3::text IS NULL OR kind = $3)
      AND id < $4
    ORDER BY id DESC
    LIMIT $5)
ORDER BY id DESC;

-- name: SelectTraceParent
-- The W3C traceparent of the request that enqueued the job, for the admin page's trace link.
SELECT trace_parent FROM jobs.job WHERE id = $1;
