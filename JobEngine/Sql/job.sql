-- Queries on the job tables, one per name. Parameters are positional ($1...), never text built from input.
-- jobs.job holds live jobs only ('available', 'scheduled', 'running', 'retryable'; migration 9's
-- check); a job reaching 'completed', 'discarded' or 'cancelled' leaves it in the statement that
-- finalizes it, into jobs.job_history (day partitions on finalized_at), unless the worker keeps
-- no history. A job is in exactly one of the two in any snapshot. JobLife.cs states who moves a
-- job from which state to which.

-- name: InsertJobs
-- One round trip for any number of jobs. A job whose idempotency key is held by a live job is
-- skipped here (DO NOTHING) and looked up by SelectLiveJobsByIdempotencyKey.
INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, idempotency_key, trace_parent, created_by)
SELECT CASE WHEN r.run_at > now() THEN 'scheduled'::jobs.job_state ELSE 'available'::jobs.job_state END,
       r.queue, r.kind, r.args, r.priority, r.max_attempts, coalesce(r.run_at, now()), r.idempotency_key, r.trace_parent, r.created_by
FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::smallint[], $5::smallint[], $6::timestamptz[], $7::text[], $8::text[], $9::text[])
     AS r (queue, kind, args, priority, max_attempts, run_at, idempotency_key, trace_parent, created_by)
ON CONFLICT (idempotency_key)
    WHERE idempotency_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable')
    DO NOTHING
RETURNING id, state::text AS state, queue, kind, args::text AS args, priority, attempt, max_attempts, run_at, created_at,
          attempted_at, finalized_at, attempted_by, errors::text AS errors, idempotency_key, created_by;

-- name: SelectLiveJobsByIdempotencyKey
SELECT id, state::text AS state, queue, kind, args::text AS args, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors::text AS errors, idempotency_key, created_by
FROM jobs.job
WHERE idempotency_key = ANY ($1::text[])
  AND state IN ('available', 'scheduled', 'running', 'retryable');

-- name: SelectJobById
-- One statement, one snapshot: the job is found in exactly one of the two tables.
SELECT id, state::text AS state, queue, kind, args::text AS args, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors::text AS errors, idempotency_key, created_by
FROM jobs.job
WHERE id = $1
UNION ALL
SELECT id, state::text AS state, queue, kind, args::text AS args, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors::text AS errors, idempotency_key, created_by
FROM jobs.job_history
WHERE id = $1
LIMIT 1;

-- name: LockQueueClaim
-- Sent before every ClaimJobs: serializes the claimers of one queue (a transaction-level advisory
-- lock, which writes nothing), so the next statement, whose snapshot is taken after the lock, sees
-- every earlier claim and start. A capped queue needs that to count its running jobs. Every queue
-- gains from it once several Worker processes claim: concurrent claims all start at the head of
-- job_claim_idx and fought over the same rows (each skipped a rival's locked rows and rechecked
-- rows claimed after its snapshot): 4 processes read about 10,000 rows to claim 1,000, and
-- PostgreSQL spent 30 us per job instead of 18. A claim waiting here sleeps on the lock.
SELECT pg_advisory_xact_lock(hashtextextended('jobs.queue_limit:' || $1, 0));

-- name: ClaimJobs
-- Takes up to $2 runnable jobs of queue $1 in priority order; rows locked by another claimer
-- are skipped, never waited for. The lease ($4 ms) is what makes a crashed worker's job come
-- back; attempt is the fencing token every later write of this run must present.
-- A queue with a global cap or rate limit (a row in jobs.queue_limit; every claim runs after
-- LockQueueClaim) gets no more than the cap minus its running jobs and the rate limit minus the
-- starts in the sliding window, and each start of a rate-limited queue is recorded; its running
-- jobs are counted from jobs.job_count (kept in the same transaction as every claim and finish).
-- A queue without a row pays one primary-key lookup. The candidates use the constant LIMIT $2 (a
-- LIMIT computed in the query would cost the planner its index-ordered plan); only the first n are
-- claimed. A paused queue (a row in jobs.queue_pause, migration 13) yields nothing: one
-- primary-key probe per claim. The claim writes no index (migration 12): job_claim_idx holds every live job, so the
-- running ones at the head of the queue are read and passed over, and the UPDATE changes no
-- indexed column, which makes it a heap-only update. The rows are updated where the candidates
-- found them (by ctid, a TID scan): the row locks taken by FOR UPDATE keep every locked version in
-- place until this statement ends, and a lookup of each id in job_pkey cost a quarter of the
-- claim's buffer reads (8,100 -> 6,100 a claim of 1,000; 15 % of its time).
WITH lim AS (
    SELECT greatest(0, least(
               $2::integer,
               coalesce(l.max_running - (SELECT coalesce(sum(c.n), 0) FROM jobs.job_count AS c WHERE c.queue = $1 AND c.state = 'running')::integer, $2::integer),
               CASE WHEN l.rate_limit IS NULL THEN $2::integer
                    ELSE l.rate_limit - (SELECT count(*) FROM jobs.queue_start AS s WHERE s.queue = $1 AND s.started_at > now() - l.rate_period) END
           )) AS n,
           l.rate_limit IS NOT NULL AS rate_limited
    FROM jobs.queue_limit AS l
    WHERE l.queue = $1
), candidates AS (
    SELECT ctid
    FROM jobs.job
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND queue = $1
      AND run_at <= now()
      AND NOT EXISTS (SELECT 1 FROM jobs.queue_pause AS p WHERE p.queue = $1)
    ORDER BY priority, run_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), next AS (
    SELECT ctid FROM candidates LIMIT (SELECT coalesce(max(n), $2::integer) FROM lim)
), claimed AS (
    UPDATE jobs.job AS j
    SET state = 'running',
        attempt = j.attempt + 1,
        attempted_at = now(),
        attempted_by = $3,
        lease_expires_at = now() + $4 * interval '1 millisecond'
    WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM next))
    RETURNING j.id, j.queue, j.kind, j.args::text AS args, j.attempt, j.max_attempts, j.trace_parent,
              extract(epoch FROM j.attempted_at - greatest(j.run_at, j.created_at)) * 1000 AS latency_ms
), started AS (
    INSERT INTO jobs.queue_start (queue, started_at)
    SELECT $1, now() FROM claimed WHERE (SELECT rate_limited FROM lim)
)
SELECT * FROM claimed;

-- name: MillisecondsUntilNextScheduledJob
-- How long until the earliest scheduled or retryable job of the queues $1 is due, so the producer
-- sleeps exactly that long; negative when one is due already (it claims again at once). Only such
-- jobs have a run_at in the future (every other write sets it to now() or earlier), so one probe
-- of job_claim_idx per queue and priority finds it, starting a second back: a job that fell due
-- between the claim that missed it and this statement is found, and the due backlog before that
-- second is never read (the claim takes it). A paused queue has nothing to wait for.
SELECT extract(epoch FROM min(next.run_at) - now()) * 1000
FROM unnest($1::text[]) AS q (queue)
CROSS JOIN generate_series(0, 9) AS p (priority)
CROSS JOIN LATERAL (
    SELECT j.run_at
    FROM jobs.job AS j
    WHERE j.queue = q.queue
      AND j.priority = p.priority
      AND j.run_at > now() - interval '1 second'
      AND j.state IN ('scheduled', 'retryable')
    ORDER BY j.run_at
    LIMIT 1) AS next
WHERE NOT EXISTS (SELECT 1 FROM jobs.queue_pause AS paused WHERE paused.queue = q.queue);

-- name: DisableNestedLoopsForThisTransaction
-- Sent first in the round trips that join jobs.job to a list of ids (ScheduleRetries, FinishJobs,
-- ReleaseJobs, ExtendLeases). Statistics taken while few jobs ran say 'running' is rare, so the
-- planner expects one row and loops over the whole list for each job found: 1,000,000 comparisons
-- and 275 ms for a batch of 1,000, against 3 ms for the hash join it takes instead. Local to the
-- round trip's transaction; the triggers these statements fire join nothing.
SELECT set_config('enable_nestloop', 'off', true);

-- name: ScheduleRetries
-- (Every statement that joins jobs.job to a list of ids restates "j.id = ANY ($1)": see FinishJobs.)
-- Failed attempts with attempts left run again after their delay, staying in jobs.job. Sent in the
-- same round trip just before FinishJobs, and only when the batch holds retries: its own join
-- stays small (a shared statement joined every outcome against every running job). A job whose
-- cancellation was requested is left to FinishJobs, which cancels it. A run whose attempt no
-- longer matches (its lease expired and the job was rescued) changes nothing.
UPDATE jobs.job AS j
SET state = 'retryable',
    run_at = now() + f.retry_delay_ms * interval '1 millisecond',
    errors = CASE WHEN f.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(f.error) END,
    lease_expires_at = NULL
FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::jsonb[]) AS f (id, attempt, retry_delay_ms, error)
WHERE j.id = ANY ($1::bigint[])
  AND j.id = f.id
  AND j.attempt = f.attempt
  AND j.state = 'running'
  AND NOT j.cancel_requested;

-- name: FinishJobs
-- Writes the outcome of many runs at once: each job still running under that attempt leaves
-- jobs.job and, when $6 (keep history) is true, enters the history in its final state. A retry
-- outcome lands here only for a job whose cancellation was requested (ScheduleRetries took the
-- others first, so they are no longer 'running'): it becomes 'cancelled'. A run whose attempt no
-- longer matches (its lease expired and the job was rescued) changes nothing; the conditions on j
-- are in the DELETE's own WHERE, so a row changed meanwhile is judged on its newest version.
-- "j.id = ANY ($1)" restates the join for the planner: the hash join's other side is then a
-- primary-key lookup of the listed ids, not a read of the whole live table.
WITH finished AS (
    DELETE FROM jobs.job AS j
    USING unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::jsonb[]) AS f (id, attempt, state, retry_delay_ms, error)
    WHERE j.id = ANY ($1::bigint[])
      AND j.id = f.id
      AND j.attempt = f.attempt
      AND j.state = 'running'
      AND (f.state <> 'retryable' OR j.cancel_requested)
    RETURNING j.id, CASE WHEN f.state = 'retryable' THEN 'cancelled' ELSE f.state END::jobs.job_state AS state, j.queue, j.kind,
              j.args, j.priority, j.attempt, j.max_attempts, j.run_at, j.created_at, j.attempted_at, j.attempted_by,
              CASE WHEN f.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(f.error) END AS errors,
              j.idempotency_key, j.trace_parent, j.created_by
)
INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                              attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, now(), attempted_by, errors, idempotency_key, trace_parent, created_by
FROM finished
WHERE $6::boolean;

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
    WHERE j.id = ANY ($1::bigint[])
      AND j.id = r.id
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
WHERE j.id = ANY ($1::bigint[])
  AND j.id = h.id
  AND j.attempt = h.attempt
  AND j.state = 'running'
RETURNING j.id, j.cancel_requested;

-- name: RescueExpiredJobs
-- Jobs of a worker that stopped renewing leases (killed, frozen, cut off) go back to the queue
-- after the retry delay ($2, computed by RetryPolicy for the attempt that was lost, in ms, by
-- attempt number from 1), or leave for the history ($3: keep it) as 'discarded' when that was
-- their last attempt, 'cancelled' when cancellation was requested. No index holds running jobs
-- (a claim writes none), so this reads the live table: the rescuer runs it only when a worker
-- stopped heartbeating, and on its backstop timer (JobRescuer).
WITH expired AS (
    SELECT id
    FROM jobs.job
    WHERE state = 'running'
      AND lease_expires_at < now()
    ORDER BY id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), lost AS (
    SELECT j.id, jsonb_build_array(jsonb_build_object(
               'attempt', j.attempt,
               'at', now(),
               'worker', j.attempted_by,
               'type', 'LeaseExpired',
               'message', 'worker ' || coalesce(j.attempted_by, 'unknown') || ' stopped renewing its lease; the job was rescued')) AS error
    FROM jobs.job AS j
    JOIN expired USING (id)
), retried AS (
    UPDATE jobs.job AS j
    SET state = 'retryable',
        run_at = now() + coalesce(($2::bigint[])[j.attempt], ($2::bigint[])[array_length($2::bigint[], 1)], 0) * interval '1 millisecond',
        lease_expires_at = NULL,
        errors = j.errors || lost.error
    FROM lost
    WHERE j.id = lost.id
      AND NOT j.cancel_requested
      AND j.attempt < j.max_attempts
    RETURNING j.queue
), finished AS (
    DELETE FROM jobs.job AS j
    USING lost
    WHERE j.id = lost.id
      AND (j.cancel_requested OR j.attempt >= j.max_attempts)
    RETURNING j.id, CASE WHEN j.cancel_requested THEN 'cancelled' ELSE 'discarded' END::jobs.job_state AS state, j.queue, j.kind,
              j.args, j.priority, j.attempt, j.max_attempts, j.run_at, j.created_at, j.attempted_at, j.attempted_by,
              j.errors || lost.error AS errors, j.idempotency_key, j.trace_parent, j.created_by
), kept AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                              attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
           attempted_at, now(), attempted_by, errors, idempotency_key, trace_parent, created_by
    FROM finished
    WHERE $3::boolean
), notified AS (
    SELECT pg_notify('jobs_inserted', q.queue) FROM (SELECT DISTINCT queue FROM retried) AS q
)
SELECT (SELECT count(*) FROM retried) + (SELECT count(*) FROM finished) AS rescued, (SELECT count(*) FROM notified) AS notified;

-- name: MaintainJobHistory
-- Creates the coming days' history partitions and drops those past retention ($1 seconds): see
-- jobs.maintain_job_history (migration 9). Returns the rows dropped.
SELECT jobs.maintain_job_history($1 * interval '1 second') AS dropped;

-- name: PruneFinishedMinutes
-- GET /stats charts the last hour; a day of minutes is kept for a longer look by hand.
DELETE FROM jobs.job_finished_minute
WHERE minute < now() - interval '1 day';

-- name: CancelJob
-- A job that is not running is cancelled at once (it leaves jobs.job for the history); a running
-- one is flagged and its worker is told, which cancels the handler's token. A finished job is
-- found in the history and refused.
WITH target AS (
    SELECT id, state AS old_state FROM jobs.job WHERE id = $1 FOR UPDATE
), flagged AS (
    UPDATE jobs.job AS j
    SET cancel_requested = true
    FROM target AS t
    WHERE j.id = t.id
      AND t.old_state = 'running'
    RETURNING j.id
), cancelled AS (
    DELETE FROM jobs.job AS j
    USING target AS t
    WHERE j.id = t.id
      AND t.old_state <> 'running'
    RETURNING j.*
), kept AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                              attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT id, 'cancelled', queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
           attempted_at, now(), attempted_by, errors, idempotency_key, trace_parent, created_by
    FROM cancelled
), notified AS (
    SELECT pg_notify('jobs_cancel', f.id::text) FROM flagged AS f
)
SELECT coalesce((SELECT old_state::text FROM target), (SELECT state::text FROM jobs.job_history WHERE id = $1 LIMIT 1)) AS previous_state,
       (SELECT count(*) FROM flagged) + (SELECT count(*) FROM cancelled) AS changed,
       (SELECT count(*) FROM notified) AS notified;

-- name: RetryJob
-- By hand: a discarded or cancelled job (in the history) comes back to jobs.job, and a retryable
-- or scheduled one runs now, with at least one attempt left. The job keeps its id. Its
-- idempotency key, if a live job holds it by now, fails the statement (unique violation).
WITH live AS (
    SELECT id, state AS old_state FROM jobs.job WHERE id = $1 FOR UPDATE
), finished AS (
    SELECT id, state AS old_state, finalized_at FROM jobs.job_history WHERE id = $1 LIMIT 1 FOR UPDATE
), updated AS (
    UPDATE jobs.job AS j
    SET state = 'available',
        run_at = now(),
        cancel_requested = false,
        max_attempts = greatest(j.max_attempts, j.attempt + 1)
    FROM live AS t
    WHERE j.id = t.id
      AND t.old_state IN ('retryable', 'scheduled')
    RETURNING j.queue
), revived AS (
    DELETE FROM jobs.job_history AS h
    USING finished AS t
    WHERE h.id = t.id
      AND h.finalized_at = t.finalized_at
      AND t.old_state IN ('discarded', 'cancelled')
    RETURNING h.*
), inserted AS (
    -- The insert trigger of jobs.job notifies the queue.
    INSERT INTO jobs.job (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                          attempted_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    OVERRIDING SYSTEM VALUE
    SELECT id, 'available', queue, kind, args, priority, attempt, greatest(max_attempts, attempt + 1), now(), created_at,
           attempted_at, attempted_by, errors, idempotency_key, trace_parent, created_by
    FROM revived
    RETURNING id
), notified AS (
    SELECT pg_notify('jobs_inserted', u.queue) FROM updated AS u
)
SELECT coalesce((SELECT old_state::text FROM live), (SELECT old_state::text FROM finished)) AS previous_state,
       (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS changed,
       (SELECT count(*) FROM notified) AS notified;

-- name: RegisterKinds
INSERT INTO jobs.kind (kind, worker, last_seen_at)
SELECT k, $2, now() FROM unnest($1::text[]) AS k
ON CONFLICT (kind) DO UPDATE SET worker = excluded.worker, last_seen_at = excluded.last_seen_at;
