-- The Api's own queries on jobs.job, jobs.job_history and jobs.kind (enqueue, get, cancel and retry are the
-- engine's, in JobEngine/Sql/job.sql). Parameters are positional, never text built from input.

-- name: SelectRegisteredKinds
SELECT kind FROM jobs.kind ORDER BY kind;

-- name: ListJobs
-- Newest first, one page after the cursor id $4 (keyset: never OFFSET), across live jobs
-- (jobs.job) and finished ones (jobs.job_history); a job is in one of them in any snapshot. Each
-- filter is null or a value; every call is planned with its values (the Api's connections force
-- custom plans: JobsConnectionSettings), so null filters fold away and a state filter drops the
-- table that cannot hold that state. The history's (state, id) index leaves completed jobs out,
-- and the planner proves a row is in it only from a literal: state <> 'completed' says so (the
-- text-to-state cast of $1 is not folded to a constant).
-- Each branch picks at most a page of ids in id order: in the history an index-only backward scan
-- of (state, id), (queue, id) or (kind, id) per day partition, merged (no filter, or completed
-- jobs, which (state, id) leaves out: (id), skipping the few others); the live
-- table has no listing index (every claim and finish would pay for it) and holds only the backlog.
-- Only the page's rows are then read.
WITH page AS (
    (SELECT id, false AS finished
     FROM jobs.job
     WHERE ($1::text IS NULL OR ($1::text IN ('available', 'scheduled', 'running', 'retryable') AND state = $1::jobs.job_state))
       AND ($2::text IS NULL OR queue = $2)
       AND ($3::text IS NULL OR kind = $3)
       AND id < $4
     ORDER BY id DESC
     LIMIT $5)
    UNION ALL
    (SELECT id, true
     FROM jobs.job_history
     WHERE ($1::text IS NULL
            OR ($1::text = 'completed' AND state = 'completed')
            OR ($1::text IN ('discarded', 'cancelled') AND state = $1::jobs.job_state AND state <> 'completed'))
       AND ($2::text IS NULL OR queue = $2)
       AND ($3::text IS NULL OR kind = $3)
       AND id < $4
     ORDER BY id DESC
     LIMIT $5)
    ORDER BY id DESC
    LIMIT $5
)
SELECT j.id, j.state::text AS state, j.queue, j.kind, j.priority, j.attempt, j.max_attempts, j.run_at, j.created_at,
       j.finalized_at, j.errors -> -1 ->> 'message' AS last_error
FROM page
JOIN jobs.job AS j ON j.id = page.id AND NOT page.finished
UNION ALL
SELECT h.id, h.state::text, h.queue, h.kind, h.priority, h.attempt, h.max_attempts, h.run_at, h.created_at,
       h.finalized_at, h.errors -> -1 ->> 'message'
FROM page
JOIN jobs.job_history AS h ON h.id = page.id AND page.finished
ORDER BY id DESC;

-- name: SelectTraceParent
-- The W3C traceparent of the request that enqueued the job, for the admin page's trace link. One
-- statement, one snapshot: the job is found in exactly one of the three tables (a workflow step
-- waiting for its dependencies is in jobs.job_pending).
SELECT trace_parent FROM jobs.job WHERE id = $1
UNION ALL
SELECT trace_parent FROM jobs.job_pending WHERE id = $1
UNION ALL
SELECT trace_parent FROM jobs.job_history WHERE id = $1
LIMIT 1;

-- name: SelectServedQueues
-- Every queue some live Worker serves: one that heartbeated within its lease (migration 11). The
-- table has a row per Worker process, so this reads a handful of rows.
SELECT DISTINCT unnest(queues) AS queue
FROM jobs.worker
WHERE heartbeat_at > now() - lease_ms * interval '1 millisecond';

-- name: ListQueueWorkers
-- Per queue, how many live Workers serve it and whether it is paused: the queues that hold jobs
-- (the count tables, as GET /stats reads them), the queues a live Worker serves, with or without
-- jobs, and the paused ones (migration 13).
WITH live AS (
    SELECT worker_id, unnest(queues) AS queue
    FROM jobs.worker
    WHERE heartbeat_at > now() - lease_ms * interval '1 millisecond'
), with_jobs AS (
    SELECT queue FROM jobs.job_count GROUP BY queue, state HAVING sum(n) <> 0
)
SELECT q.queue, count(DISTINCT q.worker_id) AS live_workers,
       EXISTS (SELECT 1 FROM jobs.queue_pause AS p WHERE p.queue = q.queue) AS paused
FROM (SELECT queue, worker_id FROM live
      UNION ALL
      SELECT queue, NULL FROM with_jobs
      UNION ALL
      SELECT queue, NULL FROM jobs.queue_pause) AS q
GROUP BY q.queue
ORDER BY q.queue;

-- name: ListWorkflows
-- Newest first, one page of workflows after the cursor id $2 (keyset, never OFFSET): jobs.workflow's
-- primary key read backwards, or workflow_name_id_idx (migration 18) when $1 names them; planned
-- with its values, so a null name folds away. Each comes with its progress, counted from its steps
-- (workflow_step_ordinal_idx) with one primary-key probe each of jobs.job_pending (waiting) and
-- jobs.job (live, by state); a step in neither has finished. The history is not read: a page costs
-- two probes per step of its workflows, whatever the history and the number of workflows; how each
-- step ended is GET /workflows/{id}'s to say.
SELECT w.id, w.name, w.step_count, w.created_at, w.created_by,
       c.pending, c.available, c.scheduled, c.running, c.retryable
FROM (SELECT id, name, step_count, created_at, created_by
      FROM jobs.workflow
      WHERE ($1::text IS NULL OR name = $1)
        AND id < $2
      ORDER BY id DESC
      LIMIT $3) AS w
CROSS JOIN LATERAL (
    SELECT count(p.id) AS pending,
           count(*) FILTER (WHERE j.state = 'available') AS available,
           count(*) FILTER (WHERE j.state = 'scheduled') AS scheduled,
           count(*) FILTER (WHERE j.state = 'running') AS running,
           count(*) FILTER (WHERE j.state = 'retryable') AS retryable
    FROM jobs.workflow_step AS s
    LEFT JOIN jobs.job_pending AS p ON p.id = s.job_id
    LEFT JOIN jobs.job AS j ON j.id = s.job_id
    WHERE s.workflow_id = w.id) AS c
ORDER BY w.id DESC;
