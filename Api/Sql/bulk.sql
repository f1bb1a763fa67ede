-- The bulk actions of POST /jobs/retry and POST /jobs/cancel. Each batch statement moves at most $5
-- jobs between jobs.job and jobs.job_history as the engine's single-job CancelJob and RetryJob do
-- (DELETE ... RETURNING feeding INSERT, so the count triggers of migrations 8 and 9 see every
-- move), and is its own transaction: locks last one batch, and a batch that failed left the ones
-- before it done, which a second call does not redo. Batches walk the ids downwards from the cursor
-- $4 (the smallest id the previous batch looked at), so a job skipped on purpose is never looked at
-- twice and the walk ends. Filters are null or a value, as in admin.sql's ListJobs; a state filter
-- was checked by the Api to be one this action accepts.

-- name: RetryJobsBatch
-- Discarded and cancelled jobs come back to jobs.job, available now with at least one attempt left,
-- keeping their ids. A job whose idempotency key a live job holds stays in the history (reviving it
-- would fail the batch on the unique key); of several finished jobs with one key, the newest comes
-- back and the older ones then find it live. FOR UPDATE: a concurrent single retry or a retention
-- sweep of the same row makes it skip here instead of moving twice. A workflow step keeps its
-- dependents (has_dependents), but unlike the single RetryJob the dependents its failure cancelled
-- are not put back to waiting: a filter may match them too, and each is then retried as a job. A
-- batch member counts again in its batch if the batch has not fired, as with RetryJob.
WITH batch AS (
    SELECT id, finalized_at, idempotency_key
    FROM jobs.job_history
    WHERE state IN ('discarded', 'cancelled')
      AND ($1::text IS NULL OR state = $1::jobs.job_state)
      AND ($2::text IS NULL OR queue = $2)
      AND ($3::text IS NULL OR kind = $3)
      AND id < $4
    ORDER BY id DESC
    LIMIT $5
    FOR UPDATE
), movable AS (
    SELECT b.id, b.finalized_at
    FROM batch AS b
    WHERE b.idempotency_key IS NULL
       OR (NOT EXISTS (SELECT FROM jobs.job AS j WHERE j.idempotency_key = b.idempotency_key)
           AND NOT EXISTS (SELECT FROM batch AS newer WHERE newer.idempotency_key = b.idempotency_key AND newer.id > b.id))
), revived AS (
    DELETE FROM jobs.job_history AS h
    USING movable AS m
    WHERE h.id = m.id
      AND h.finalized_at = m.finalized_at
    RETURNING h.*
), inserted AS (
    -- The insert trigger of jobs.job notifies each queue once per statement.
    INSERT INTO jobs.job (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                          attempted_at, attempted_by, errors, idempotency_key, trace_parent, created_by, has_dependents)
    OVERRIDING SYSTEM VALUE
    SELECT id, 'available', queue, kind, args, priority, attempt, greatest(max_attempts, attempt + 1), now(), created_at,
           attempted_at, attempted_by, errors, idempotency_key, trace_parent, created_by,
           EXISTS (SELECT 1 FROM jobs.job_dependency AS d WHERE d.job_id = revived.id)
    FROM revived
    RETURNING id, has_dependents
), recounted AS (
    -- A batch member counts again when it finalizes again, unless its batch fired (migration 17).
    SELECT jobs.recount_batch_members(array_agg(r.id), array_agg(r.state)) AS recounted
    FROM revived AS r
    JOIN inserted AS i ON i.id = r.id
    WHERE i.has_dependents
    HAVING count(*) > 0
)
SELECT (SELECT min(id) FROM batch) AS cursor, (SELECT count(*) FROM inserted) AS changed,
       coalesce((SELECT recounted FROM recounted), 0) AS recounted;

-- name: CountRetryableJobs
-- What RetryJobsBatch would move over the whole walk: every job without a key, and one job per key
-- no live job holds.
SELECT count(*) FILTER (WHERE idempotency_key IS NULL)
       + count(DISTINCT idempotency_key) FILTER (WHERE NOT EXISTS (SELECT FROM jobs.job AS j WHERE j.idempotency_key = h.idempotency_key))
FROM jobs.job_history AS h
WHERE state IN ('discarded', 'cancelled')
  AND ($1::text IS NULL OR state = $1::jobs.job_state)
  AND ($2::text IS NULL OR queue = $2)
  AND ($3::text IS NULL OR kind = $3);

-- name: CancelJobsBatch
-- Available, scheduled and retryable jobs leave jobs.job for the history as cancelled. Running
-- jobs are not touched (their handler is told one by one, POST /jobs/{id}/cancel). FOR UPDATE
-- waits for a claim that holds the row and then rechecks the state: a job claimed meanwhile is
-- running and stays; claims skip the rows locked here.
WITH batch AS (
    SELECT id
    FROM jobs.job
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND ($1::text IS NULL OR state = $1::jobs.job_state)
      AND ($2::text IS NULL OR queue = $2)
      AND ($3::text IS NULL OR kind = $3)
      AND id < $4
    ORDER BY id DESC
    LIMIT $5
    FOR UPDATE
), cancelled AS (
    DELETE FROM jobs.job AS j
    USING batch AS b
    WHERE j.id = b.id
    RETURNING j.*
), kept AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                  attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT id, 'cancelled', queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
           attempted_at, now(), attempted_by, errors, idempotency_key, trace_parent, created_by
    FROM cancelled
    RETURNING id
), resolved AS (
    -- Workflow steps cancelled here cancel their dependents, as CancelJob does (migration 15).
    SELECT jobs.resolve_dependents(array_agg(id), array_agg('cancelled'::jobs.job_state), true)
    FROM cancelled
    WHERE has_dependents
    HAVING count(*) > 0
)
SELECT (SELECT min(id) FROM batch) AS cursor, (SELECT count(*) FROM kept) AS changed, (SELECT count(*) FROM resolved) AS resolved;

-- name: CountCancellableJobs
SELECT count(*)
FROM jobs.job
WHERE state IN ('available', 'scheduled', 'retryable')
  AND ($1::text IS NULL OR state = $1::jobs.job_state)
  AND ($2::text IS NULL OR queue = $2)
  AND ($3::text IS NULL OR kind = $3);
