-- Queries on jobs.job, one per name. Parameters are positional ($1...), never text built from input.
-- The runnable states are 'available', 'scheduled' and 'retryable'; the finalized ones
-- 'completed', 'discarded' and 'cancelled'. Both lists match the partial indexes of migration 1.

-- name: InsertJobs
-- One round trip for any number of jobs. A job whose idempotency key is held by a live job is
-- skipped here (DO NOTHING) and looked up by SelectLiveJobsByIdempotencyKey.
INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, idempotency_key, trace_parent)
SELECT CASE WHEN r.run_at > now() THEN 'scheduled'::jobs.job_state ELSE 'available'::jobs.job_state END,
       r.queue, r.kind, r.args, r.priority, r.max_attempts, coalesce(r.run_at, now()), r.idempotency_key, r.trace_parent
FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::smallint[], $5::smallint[], $6::timestamptz[], $7::text[], $8::text[])
     AS r (queue, kind, args, priority, max_attempts, run_at, idempotency_key, trace_parent)
ON CONFLICT (idempotency_key)
    WHERE idempotency_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable')
    DO NOTHING
RETURNING id, state::text, queue, kind, args::text, priority, attempt, max_attempts, run_at, created_at,
          attempted_at, finalized_at, attempted_by, errors::text, idempotency_key;

-- name: SelectLiveJobsByIdempotencyKey
SELECT id, state::text, queue, kind, args::text, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors::text, idempotency_key
FROM jobs.job
WHERE idempotency_key = ANY ($1::text[])
  AND state IN ('available', 'scheduled', 'running', 'retryable');

-- name: SelectJobById
SELECT id, state::text, queue, kind, args::text, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors::text, idempotency_key
FROM jobs.job
WHERE id = $1;

-- name: LockQueueLimit
-- Sent before ClaimJobs for a queue with a limit: serializes the claimers of one queue (a transaction-level
-- advisory lock, which writes nothing), so the next statement, whose snapshot is taken after the
-- lock, sees every running job and every start.
SELECT pg_advisory_xact_lock(hashtextextended('jobs.queue_limit:' || $1, 0));

-- name: ClaimJobs
-- Takes up to $2 runnable jobs of queue $1 in priority order; rows locked by another claimer
-- are skipped, never waited for. The lease ($4 ms) is what makes a crashed worker's job come
-- back; attempt is the fencing token every later write of this run must present.
-- A queue with a global cap or rate limit (a row in jobs.queue_limit, claimed after
-- LockQueueLimit) gets no more than the cap minus its running jobs and the rate limit minus the
-- starts in the sliding window, and each start of a rate-limited queue is recorded. A queue
-- without a row pays one primary-key lookup. The candidates use the constant LIMIT $2 (a LIMIT
-- computed in the query would cost the planner its index-ordered plan); only the first n are claimed.
WITH lim AS (
    SELECT greatest(0, least(
               $2::integer,
               coalesce(l.max_running - (SELECT count(*) FROM jobs.job AS r WHERE r.state = 'running' AND r.queue = $1), $2::integer),
               CASE WHEN l.rate_limit IS NULL THEN $2::integer
                    ELSE l.rate_limit - (SELECT count(*) FROM jobs.queue_start AS s WHERE s.queue = $1 AND s.started_at > now() - l.rate_period) END
           )) AS n,
           l.rate_limit IS NOT NULL AS rate_limited
    FROM jobs.queue_limit AS l
    WHERE l.queue = $1
), candidates AS (
    SELECT id
    FROM jobs.job
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND queue = $1
      AND run_at <= now()
    ORDER BY priority, run_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), next AS (
    SELECT id FROM candidates LIMIT (SELECT coalesce(max(n), $2::integer) FROM lim)
), claimed AS (
    UPDATE jobs.job AS j
    SET state = 'running',
        attempt = j.attempt + 1,
        attempted_at = now(),
        attempted_by = $3,
        lease_expires_at = now() + $4 * interval '1 millisecond'
    FROM next
    WHERE j.id = next.id
    RETURNING j.id, j.queue, j.kind, j.args::text, j.attempt, j.max_attempts, j.trace_parent,
              extract(epoch FROM j.attempted_at - greatest(j.run_at, j.created_at)) * 1000 AS latency_ms
), started AS (
    INSERT INTO jobs.queue_start (queue, started_at)
    SELECT $1, now() FROM claimed WHERE (SELECT rate_limited FROM lim)
)
SELECT * FROM claimed;

-- name: MillisecondsUntilNextScheduledJob
SELECT extract(epoch FROM min(run_at) - now()) * 1000
FROM jobs.job
WHERE state IN ('scheduled', 'retryable')
  AND queue = ANY ($1::text[]);

-- name: FinishJobs
-- Writes the outcome of many runs at once. A run whose attempt no longer matches (its lease
-- expired and the job was rescued) changes nothing. A retry of a job whose cancellation was
-- requested becomes 'cancelled'.
UPDATE jobs.job AS j
SET state = CASE WHEN f.state = 'retryable' AND j.cancel_requested THEN 'cancelled'::jobs.job_state
                 ELSE f.state::jobs.job_state END,
    run_at = CASE WHEN f.state = 'retryable' AND NOT j.cancel_requested
                  THEN now() + f.retry_delay_ms * interval '1 millisecond' ELSE j.run_at END,
    finalized_at = CASE WHEN f.state <> 'retryable' OR j.cancel_requested THEN now() END,
    errors = CASE WHEN f.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(f.error) END,
    lease_expires_at = NULL
FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::jsonb[])
     AS f (id, attempt, state, retry_delay_ms, error)
WHERE j.id = f.id
  AND j.attempt = f.attempt
  AND j.state = 'running';

-- name: ReleaseJobs
-- Gives jobs back untouched when a worker shuts down before they finished: the attempt is
-- not counted and the job is runnable at once by any worker.
WITH released AS (
    UPDATE jobs.job AS j
    SET state = 'available',
        attempt = j.attempt - 1,
        run_at = now(),
        attempted_at = NULL,
        attempted_by = NULL,
        lease_expires_at = NULL
    FROM unnest($1::bigint[], $2::smallint[]) AS r (id, attempt)
    WHERE j.id = r.id
      AND j.attempt = r.attempt
      AND j.state = 'running'
    RETURNING j.queue
)
SELECT count(*) FROM (SELECT pg_notify('jobs_inserted', q.queue) FROM (SELECT DISTINCT queue FROM released) AS q) AS n;

-- name: ExtendLeases
-- Heartbeat of a worker's running jobs. Rows not returned were rescued by someone else and
-- must be abandoned; cancel_requested tells the worker to cancel the handler.
UPDATE jobs.job AS j
SET lease_expires_at = now() + $3 * interval '1 millisecond'
FROM unnest($1::bigint[], $2::smallint[]) AS h (id, attempt)
WHERE j.id = h.id
  AND j.attempt = h.attempt
  AND j.state = 'running'
RETURNING j.id, j.cancel_requested;

-- name: RescueExpiredJobs
-- Jobs of a worker that stopped renewing leases (killed, frozen, cut off) go back to the queue,
-- or to 'discarded' when that was their last attempt.
WITH expired AS (
    SELECT id
    FROM jobs.job
    WHERE state = 'running'
      AND lease_expires_at < now()
    ORDER BY id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), rescued AS (
    UPDATE jobs.job AS j
    SET state = CASE WHEN j.cancel_requested THEN 'cancelled'::jobs.job_state
                     WHEN j.attempt >= j.max_attempts THEN 'discarded'::jobs.job_state
                     ELSE 'retryable'::jobs.job_state END,
        run_at = now(),
        finalized_at = CASE WHEN j.cancel_requested OR j.attempt >= j.max_attempts THEN now() END,
        lease_expires_at = NULL,
        errors = j.errors || jsonb_build_array(jsonb_build_object(
            'attempt', j.attempt,
            'at', now(),
            'type', 'LeaseExpired',
            'message', 'worker ' || coalesce(j.attempted_by, 'unknown') || ' stopped renewing its lease; the job was rescued'))
    FROM expired
    WHERE j.id = expired.id
    RETURNING j.queue, j.state
), notified AS (
    SELECT pg_notify('jobs_inserted', q.queue) FROM (SELECT DISTINCT queue FROM rescued WHERE state = 'retryable') AS q
)
SELECT (SELECT count(*) FROM rescued), (SELECT count(*) FROM notified);

-- name: PruneFinalizedJobs
-- Small batches, oldest first, skipping rows someone else holds: no long lock, no long transaction.
DELETE FROM jobs.job
WHERE id IN (
    SELECT id
    FROM jobs.job
    WHERE state IN ('completed', 'discarded', 'cancelled')
      AND finalized_at < now() - $1 * interval '1 second'
    ORDER BY finalized_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
);

-- name: PruneFinishedMinutes
-- GET /stats charts the last hour; a day of minutes is kept for a longer look by hand.
DELETE FROM jobs.job_finished_minute
WHERE minute < now() - interval '1 day';

-- name: CancelJob
-- A job that is not running is cancelled at once; a running one is flagged and its worker is
-- told, which cancels the handler's token.
WITH target AS (
    SELECT id, state AS old_state FROM jobs.job WHERE id = $1 FOR UPDATE
), updated AS (
    UPDATE jobs.job AS j
    SET cancel_requested = true,
        state = CASE WHEN t.old_state = 'running' THEN j.state ELSE 'cancelled'::jobs.job_state END,
        finalized_at = CASE WHEN t.old_state = 'running' THEN j.finalized_at ELSE now() END
    FROM target AS t
    WHERE j.id = t.id
      AND t.old_state IN ('available', 'scheduled', 'running', 'retryable')
    RETURNING j.id, t.old_state
), notified AS (
    SELECT pg_notify('jobs_cancel', u.id::text) FROM updated AS u WHERE u.old_state = 'running'
)
SELECT (SELECT old_state::text FROM target), (SELECT count(*) FROM updated), (SELECT count(*) FROM notified);

-- name: RetryJob
-- By hand: a discarded, cancelled, retryable or scheduled job runs again now, with at least
-- one attempt left.
WITH target AS (
    SELECT id, state AS old_state FROM jobs.job WHERE id = $1 FOR UPDATE
), updated AS (
    UPDATE jobs.job AS j
    SET state = 'available',
        run_at = now(),
        finalized_at = NULL,
        cancel_requested = false,
        max_attempts = greatest(j.max_attempts, j.attempt + 1)
    FROM target AS t
    WHERE j.id = t.id
      AND t.old_state IN ('discarded', 'cancelled', 'retryable', 'scheduled')
    RETURNING j.queue
), notified AS (
    SELECT pg_notify('jobs_inserted', u.queue) FROM updated AS u
)
SELECT (SELECT old_state::text FROM target), (SELECT count(*) FROM updated), (SELECT count(*) FROM notified);

-- name: RegisterKinds
INSERT INTO jobs.kind (kind, worker, last_seen_at)
SELECT k, $2, now() FROM unnest($1::text[]) AS k
ON CONFLICT (kind) DO UPDATE SET worker = excluded.worker, last_seen_at = excluded.last_seen_at;
