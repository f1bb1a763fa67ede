-- Queries on the job tables, one per name. Parameters are positional ($1...), never text built from input.
-- jobs.job holds live jobs only ('available', 'scheduled', 'running', 'retryable'; migration 9's
-- check); a job reaching 'completed', 'discarded' or 'cancelled' leaves it in the statement that
-- finalizes it, into jobs.job_history (day partitions on finalized_at), unless the worker keeps
-- no history. A job waiting for other jobs (a workflow step, migration 15) is in neither: it waits
-- in jobs.job_pending, which no claim reads, and enters jobs.job in the transaction that finalizes
-- its last dependency; a batch's callback (migration 17) waits there the same way, for every job of
-- its batch and, while the batch is open, for its seal. A job is in exactly one of the three in any snapshot. JobLife.cs states who
-- moves a job from which state to which.

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
-- One statement, one snapshot: the job is found in exactly one of the three tables. A waiting job
-- has no run_at yet: it shows its creation time.
SELECT id, state::text AS state, queue, kind, args::text AS args, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors::text AS errors, idempotency_key, created_by
FROM jobs.job
WHERE id = $1
UNION ALL
SELECT id, 'pending', queue, kind, args::text, priority, 0::smallint, max_attempts, created_at, created_at,
       NULL, NULL, NULL, errors::text, NULL, created_by
FROM jobs.job_pending
WHERE id = $1
UNION ALL
SELECT id, state::text AS state, queue, kind, args::text AS args, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, attempted_by, errors::text AS errors, idempotency_key, created_by
FROM jobs.job_history
WHERE id = $1
LIMIT 1;

-- name: ConfigureClaimTransaction
-- Sent first in a claim's round trip. The connection plans every execution anew (force_custom_plan,
-- JobsConnectionSettings), and a claim woken for a few jobs spent as long being planned as running:
-- 0.27 ms of planning against 0.28 of execution for a claim of 10 jobs, 0.17 against 0.14 for
-- MillisecondsUntilNextScheduledJob, at every wake-up. Within this transaction the prepared
-- statements keep one plan per connection instead (a generic plan, made again only when jobs.job is
-- analyzed), and that plan must not depend on the statistics it was made with: made on a table
-- analyzed while empty, it read every runnable job (a sequential scan, or a bitmap scan once the
-- table had filled) and sorted them, at every claim until the next analyze. With sequential and
-- bitmap scans off, the plan left is the one a claim must have: job_claim_idx in its order, then the
-- chosen rows by ctid (QueryPlanTests holds it to that). Sorts stay on: the claim's count trigger
-- sorts its few rows, and with sorts off took 90 ms. The trigger reads only its transition tables,
-- so the plan it keeps for the connection's life does not depend on these settings.
-- The claim commits without waiting for its WAL to reach the disk (synchronous_commit off, in this
-- transaction only): its jobs start once the claim is visible, not after a flush that queues behind
-- every other writer's (enqueue-to-start at 1,000 jobs/s, medians of six alternated pairs of runs:
-- p50 3.2 against 3.8 ms, p99 10.1 against 14.5). The next synchronous commit on the server (the
-- run's outcome, a lease renewal, a handler's own write, any enqueue) flushes the claim with it. A
-- crash of PostgreSQL or its host before that flush can lose the claim: its job is then runnable
-- again at once and its attempt number is used again (at least once still holds; README,
-- Guarantees). A clean stop or restart flushes it first.
SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
       set_config('enable_seqscan', 'off', true),
       set_config('enable_bitmapscan', 'off', true),
       set_config('synchronous_commit', 'off', true);

-- name: LockQueueClaim
-- Sent before ClaimJobs for a queue with a global cap or rate limit (a row in jobs.queue_limit):
-- serializes its claimers (a transaction-level advisory lock, which writes nothing), so the claim,
-- whose snapshot is taken after the lock, sees every earlier claim and start and counts the queue's
-- running jobs right. ClaimJobs takes the same lock again (it is the holder's already).
SELECT pg_advisory_xact_lock(hashtextextended('jobs.queue_limit:' || $1, 0));

-- name: ClaimJobs
-- Takes up to $2 runnable jobs of queue $1 in priority order; rows locked by another claimer
-- are skipped, never waited for. The lease ($4 ms) is what makes a crashed worker's job come
-- back; attempt is the fencing token every later write of this run must present.
-- Claimers of one queue share its head in shares of $2 jobs: a claimer takes the first of the
-- queue's four share locks it finds free (advisory locks, tried here in order and never waited
-- for; share 0's is the queue's claim lock, LockQueueClaim's) and claims from the start of its
-- share, the $2 * share-th due job of job_claim_idx (the jobs before it are read, not locked: the
-- other shares'), so claimers at once take shares side by side. Concurrent claims that all started
-- at the head fought over the same rows (each skipped a rival's locked rows and rechecked rows
-- claimed after its snapshot): 4 processes read about 10,000 rows to claim 1,000, and PostgreSQL
-- spent 30 us a job instead of 18; waiting for the lock instead left a second connection idle
-- while the first claimed (two connections added 5 % to one without history). With one lock
-- besides the head's, the three claimers of 4 processes that found the head taken fought over the
-- same second share (5,400 buffers a claim of 650 against 5,100 for 780 with 2 processes). A
-- claimer that finds all four taken claims the fifth share. A queue with fewer due jobs than a
-- share's start is claimed from the head, as it is small.
-- (share_start has one row or none; min() makes it one row either way, where a join kept for
-- the connection's life, planned under DisableNestedLoopsForThisTransaction, cost 300 ms a claim.)
-- A queue with a global cap or rate limit (a row in jobs.queue_limit; every claim of it runs after
-- LockQueueClaim, so it always holds the lock here) gets no more than the cap minus its running
-- jobs and the rate limit minus the starts in the sliding window, and each start of a rate-limited
-- queue is recorded; its running jobs are counted from jobs.job_count (kept in the same
-- transaction as every claim and finish). A claimer without the lock that finds such a row (a
-- limit written after its Worker started) claims nothing: its count could be stale.
-- A queue without a row pays one primary-key lookup. The candidates use the constant LIMIT $2 (a
-- LIMIT computed in the query would cost the planner its index-ordered plan); only the first n are
-- claimed. A paused queue (a row in jobs.queue_pause, migration 13) yields nothing: one
-- primary-key probe per claim. The claim writes no index (migration 12): job_claim_idx holds every live job, so the
-- running ones at the head of the queue are read and passed over, and the UPDATE changes no
-- indexed column, which makes it a heap-only update. The rows are updated where the candidates
-- found them (by ctid, a TID scan): the row locks taken by FOR UPDATE keep every locked version in
-- place until this statement ends, and a lookup of each id in job_pkey cost a quarter of the
-- claim's buffer reads (8,100 -> 6,100 a claim of 1,000; 15 % of its time).
-- latency_ms is date_part's double precision, read as a double: extract's numeric cost the Worker a
-- decimal decoded and boxed for every job it started. ready_at is the instant latency_ms counts from.
WITH lock AS MATERIALIZED (
    SELECT coalesce(min(free.share), 4) AS share
    FROM (SELECT s.share
          FROM generate_series(0, 3) AS s (share)
          WHERE pg_try_advisory_xact_lock(hashtextextended('jobs.queue_limit:' || $1, s.share))
          LIMIT 1) AS free
), share_start AS (
    SELECT j.priority, j.run_at, j.id
    FROM jobs.job AS j
    WHERE (SELECT share FROM lock) > 0
      AND j.state IN ('available', 'scheduled', 'retryable')
      AND j.queue = $1
      AND j.run_at <= now()
    ORDER BY j.priority, j.run_at, j.id
    OFFSET (SELECT share FROM lock) * $2
    LIMIT 1
), lim AS (
    SELECT CASE WHEN (SELECT share FROM lock) > 0 THEN 0 ELSE greatest(0, least(
               $2::integer,
               coalesce(l.max_running - (SELECT coalesce(sum(c.n), 0) FROM jobs.job_count AS c WHERE c.queue = $1 AND c.state = 'running')::integer, $2::integer),
               CASE WHEN l.rate_limit IS NULL THEN $2::integer
                    ELSE l.rate_limit - (SELECT count(*) FROM jobs.queue_start AS s WHERE s.queue = $1 AND s.started_at > now() - l.rate_period) END
           )) END AS n,
           l.rate_limit IS NOT NULL AS rate_limited
    FROM jobs.queue_limit AS l
    WHERE l.queue = $1
), candidates AS (
    SELECT ctid
    FROM jobs.job
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND queue = $1
      AND (priority, run_at, id) >= (SELECT coalesce(min(s.priority), -1::smallint), coalesce(min(s.run_at), '-infinity'::timestamptz), coalesce(min(s.id), 0::bigint)
                                     FROM share_start AS s)
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
              date_part('epoch', j.attempted_at - greatest(j.run_at, j.created_at)) * 1000 AS latency_ms,
              greatest(j.run_at, j.created_at) AS ready_at
), started AS (
    INSERT INTO jobs.queue_start (queue, started_at)
    SELECT $1, now() FROM claimed WHERE (SELECT rate_limited FROM lim)
)
SELECT * FROM claimed;

-- name: MillisecondsUntilNextScheduledJob
-- How long until the earliest scheduled or retryable job of the queues $1 is due, so the producer
-- sleeps exactly that long. Sent in the claim's round trip, after ClaimJobs and in its transaction,
-- so now() is the instant the claim judged "due" by: every job due by then was the claim's to take
-- (or is locked by another claimer, or held back by the queue's cap), and every later one is
-- found here. Only such jobs have a run_at in the future (every other write sets it to now() or
-- earlier), so one probe of job_claim_idx per queue and priority finds it and reads no due job:
-- looking back even a second walked the whole second's arrivals at 20,000 jobs/s (2.7 ms a claim,
-- up to 114 ms). A paused queue has nothing to wait for.
SELECT extract(epoch FROM min(next.run_at) - now()) * 1000
FROM unnest($1::text[]) AS q (queue)
CROSS JOIN generate_series(0, 9) AS p (priority)
CROSS JOIN LATERAL (
    SELECT j.run_at
    FROM jobs.job AS j
    WHERE j.queue = q.queue
      AND j.priority = p.priority
      AND j.run_at > now()
      AND j.state IN ('scheduled', 'retryable')
    ORDER BY j.run_at
    LIMIT 1) AS next
WHERE NOT EXISTS (SELECT 1 FROM jobs.queue_pause AS paused WHERE paused.queue = q.queue);

-- name: GiveUpOnLocksSoon
-- Sent first in a Worker's warm-up round trips (WorkerWarmup.cs), which claim and finish nothing:
-- a warm-up behind a lock someone holds on the job tables (a migration, an operator's LOCK TABLE)
-- is not worth waiting for. Local to the round trip's transaction.
SELECT set_config('lock_timeout', '1s', true);

-- name: DisableNestedLoopsForThisTransaction
-- Sent first in the round trips that join jobs.job to a list of ids (ScheduleRetries, FinishJobs,
-- ReleaseJobs, ExtendLeases). Statistics taken while few jobs ran say 'running' is rare, so the
-- planner expects one row and loops over the whole list for each job found: 1,000,000 comparisons
-- and 275 ms for a batch of 1,000, against 3 ms for the hash join it takes instead. Local to the
-- round trip's transaction; the triggers these statements fire join nothing.
-- These statements are planned with their values at every write, never kept: a generic plan
-- guesses ten ids, and made on a table whose statistics lag (analyzed while full, vacuumed while
-- empty, refilled since) it read the ids from job_claim_idx, whose fourth column is id;
-- PostgreSQL 15 then walks the whole index once per id (154,000 buffers and 150 ms for a finish
-- of 1,064 jobs, stalling the Worker for seconds at 10,000 jobs/s). With the list's real length,
-- that walk is priced as what it is.
SELECT set_config('enable_nestloop', 'off', true);

-- name: ScheduleRetries
-- "j.id = ANY ($1)" restates the join for the planner, here and in every statement that joins
-- jobs.job to a list of ids: the hash join's other side is then a primary-key lookup of the listed
-- ids, not a read of the whole live table (FinishJobs reads a dense list's range instead).
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
-- $7 and $8 are the lowest and highest id of $1. The live rows are found through job_pkey: a batch
-- whose ids are dense (fewer than twice as many ids between its ends as it lists: a claim's jobs
-- finishing together) as one range of it; any other batch (a retry long after its first run among
-- new jobs) by "j.id = ANY ($1)", which PostgreSQL 15 turns into one descent of the index per id.
-- The statement is planned with its values (JobsConnectionSettings), so the test on $7, $8 and
-- the list's length is folded away before planning and leaves one of the two. A range read 0.6 ms
-- for a finish of 1,000 dense jobs against 1.9 ms for the descents, and planning it took 0.8 ms
-- against 1.2 (1,000 constants fewer).
-- Jobs other jobs wait for (has_dependents, migration 15) have them resolved in this transaction
-- (jobs.resolve_dependents): released, or cancelled when this one did not complete. A batch without
-- such a job aggregates to no row and never calls it: ordinary jobs read one more boolean.
WITH finished AS (
    DELETE FROM jobs.job AS j
    USING unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::jsonb[]) AS f (id, attempt, state, retry_delay_ms, error)
    WHERE j.id BETWEEN $7::bigint AND $8::bigint
      AND (j.id = ANY ($1::bigint[]) OR $8::bigint - $7::bigint < 2 * cardinality($1::bigint[]))
      AND j.id = f.id
      AND j.attempt = f.attempt
      AND j.state = 'running'
      AND (f.state <> 'retryable' OR j.cancel_requested)
    RETURNING j.id, CASE WHEN f.state = 'retryable' THEN 'cancelled' ELSE f.state END::jobs.job_state AS state, j.queue, j.kind,
              j.args, j.priority, j.attempt, j.max_attempts, j.run_at, j.created_at, j.attempted_at, j.attempted_by,
              CASE WHEN f.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(f.error) END AS errors,
              j.idempotency_key, j.trace_parent, j.created_by, j.has_dependents
), kept AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                  attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
           attempted_at, now(), attempted_by, errors, idempotency_key, trace_parent, created_by
    FROM finished
    WHERE $6::boolean
), resolved AS (
    SELECT jobs.resolve_dependents(array_agg(id), array_agg(state), $6::boolean) AS released
    FROM finished
    WHERE has_dependents
    HAVING count(*) > 0
)
SELECT (SELECT count(*) FROM finished) AS finished, coalesce((SELECT released FROM resolved), 0) AS released;

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
-- their last attempt, 'cancelled' when cancellation was requested (their dependents resolved as in
-- FinishJobs). No index holds running jobs
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
              j.errors || lost.error AS errors, j.idempotency_key, j.trace_parent, j.created_by, j.has_dependents
), kept AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                              attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
           attempted_at, now(), attempted_by, errors, idempotency_key, trace_parent, created_by
    FROM finished
    WHERE $3::boolean
), notified AS (
    SELECT pg_notify('jobs_inserted', q.queue) FROM (SELECT DISTINCT queue FROM retried) AS q
), resolved AS (
    -- A job discarded (or cancelled) here fails its dependents as FinishJobs does (migration 15).
    SELECT jobs.resolve_dependents(array_agg(id), array_agg(state), $3::boolean) AS released
    FROM finished
    WHERE has_dependents
    HAVING count(*) > 0
)
SELECT (SELECT count(*) FROM retried) + (SELECT count(*) FROM finished) AS rescued, (SELECT count(*) FROM notified) AS notified,
       coalesce((SELECT released FROM resolved), 0) AS released;

-- name: MaintainJobHistory
-- Creates the coming days' history partitions and drops those past retention ($1 seconds): see
-- jobs.maintain_job_history (migration 9). Returns the rows dropped.
SELECT jobs.maintain_job_history($1 * interval '1 second') AS dropped;

-- name: PruneFinishedMinutes
-- GET /stats charts the last hour; a day of minutes is kept for a longer look by hand.
DELETE FROM jobs.job_finished_minute
WHERE minute < now() - interval '1 day';

-- name: PruneWorkflows
-- A workflow's record (its row, its steps, the edges into them) is kept while any of its steps is:
-- live, waiting, or in the history (which keeps it for the retention period, $1 seconds). Only
-- workflows created before the retention period are looked at, oldest first, $2 at a time, so a
-- tick reads the few that may be done instead of every workflow the history still holds. A step
-- retried at this moment moves from the history to jobs.job in one transaction: the snapshot sees
-- it in one of the two, and the workflow stays. Its steps go by ON DELETE CASCADE. Returns the
-- workflows deleted.
WITH gone AS (
    SELECT w.id
    FROM jobs.workflow AS w
    WHERE w.created_at < now() - $1 * interval '1 second'
      AND NOT EXISTS (
          SELECT FROM jobs.workflow_step AS s
          WHERE s.workflow_id = w.id
            AND (EXISTS (SELECT FROM jobs.job AS j WHERE j.id = s.job_id)
                 OR EXISTS (SELECT FROM jobs.job_pending AS p WHERE p.id = s.job_id)
                 OR EXISTS (SELECT FROM jobs.job_history AS h WHERE h.id = s.job_id)))
    ORDER BY w.id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), edges AS (
    DELETE FROM jobs.job_dependency AS d
    USING jobs.workflow_step AS s, gone
    WHERE s.workflow_id = gone.id AND d.dependent_id = s.job_id
)
DELETE FROM jobs.workflow AS w
USING gone
WHERE w.id = gone.id;

-- name: PruneBatches
-- A batch (its row and the edges into its callback) is kept while its callback is: waiting, live, or
-- in the history (for the retention period, $1 seconds), as PruneWorkflows keeps a workflow. Its jobs
-- are ordinary jobs with their own life. Only batches created before the retention period are looked
-- at, oldest first, $2 at a time. Returns the batches deleted.
WITH gone AS (
    SELECT b.id, b.callback_id
    FROM jobs.batch AS b
    WHERE b.created_at < now() - $1 * interval '1 second'
      AND NOT EXISTS (SELECT FROM jobs.job_pending AS p WHERE p.id = b.callback_id)
      AND NOT EXISTS (SELECT FROM jobs.job AS j WHERE j.id = b.callback_id)
      AND NOT EXISTS (SELECT FROM jobs.job_history AS h WHERE h.id = b.callback_id)
    ORDER BY b.id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), edges AS (
    DELETE FROM jobs.job_dependency AS d
    USING gone
    WHERE d.dependent_id = gone.callback_id
)
DELETE FROM jobs.batch AS b
USING gone
WHERE b.id = gone.id;

-- name: CancelJob
-- A job that is not running is cancelled at once (it leaves jobs.job, or jobs.job_pending for a job
-- still waiting for its dependencies, for the history); a running one is flagged and its worker is
-- told, which cancels the handler's token. A finished job is found in the history and refused. A
-- job cancelled here cancels its dependents in turn (jobs.resolve_dependents), unless they run anyway.
WITH target AS (
    SELECT id, state AS old_state, has_dependents FROM jobs.job WHERE id = $1 FOR UPDATE
), waiting AS (
    SELECT id FROM jobs.job_pending WHERE id = $1 FOR UPDATE
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
    RETURNING j.id, j.queue, j.kind, j.args, j.priority, j.attempt, j.max_attempts, j.run_at, j.created_at,
              j.attempted_at, j.attempted_by, j.errors, j.idempotency_key, j.trace_parent, j.created_by, j.has_dependents
), withdrawn AS (
    DELETE FROM jobs.job_pending AS p
    USING waiting AS w
    WHERE p.id = w.id
    RETURNING p.id, p.queue, p.kind, p.args, p.priority, 0::smallint AS attempt, p.max_attempts, p.created_at AS run_at, p.created_at,
              NULL::timestamptz AS attempted_at, NULL::text AS attempted_by, p.errors, NULL::text AS idempotency_key, p.trace_parent,
              p.created_by, true AS has_dependents
), gone AS (
    SELECT * FROM cancelled
    UNION ALL
    SELECT * FROM withdrawn
), kept AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                              attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT id, 'cancelled', queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
           attempted_at, now(), attempted_by, errors, idempotency_key, trace_parent, created_by
    FROM gone
), resolved AS (
    SELECT jobs.resolve_dependents(array_agg(id), array_agg('cancelled'::jobs.job_state), true) AS released
    FROM gone
    WHERE has_dependents
    HAVING count(*) > 0
), notified AS (
    SELECT pg_notify('jobs_cancel', f.id::text) FROM flagged AS f
)
SELECT coalesce((SELECT old_state::text FROM target), (SELECT 'pending' FROM waiting),
                (SELECT state::text FROM jobs.job_history WHERE id = $1 LIMIT 1)) AS previous_state,
       (SELECT count(*) FROM flagged) + (SELECT count(*) FROM gone) AS changed,
       (SELECT count(*) FROM notified) AS notified,
       coalesce((SELECT released FROM resolved), 0) AS released;

-- name: RetryJob
-- By hand: a discarded or cancelled job (in the history) comes back to jobs.job, and a retryable
-- or scheduled one runs now, with at least one attempt left. The job keeps its id. Its
-- idempotency key, if a live job holds it by now, fails the statement (unique violation). A job
-- that comes back keeps its dependents (has_dependents, from its edges), and the dependents it
-- cancelled when it failed wait for it again (jobs.revive_dependents, migration 15); a batch that
-- has not fired counts it again (jobs.recount_batch_members, migration 17). A job still waiting for
-- its dependencies is refused (previous state 'pending').
WITH live AS (
    SELECT id, state AS old_state FROM jobs.job WHERE id = $1 FOR UPDATE
), waiting AS (
    SELECT id FROM jobs.job_pending WHERE id = $1
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
                          attempted_at, attempted_by, errors, idempotency_key, trace_parent, created_by, has_dependents)
    OVERRIDING SYSTEM VALUE
    SELECT id, 'available', queue, kind, args, priority, attempt, greatest(max_attempts, attempt + 1), now(), created_at,
           attempted_at, attempted_by, errors, idempotency_key, trace_parent, created_by,
           EXISTS (SELECT 1 FROM jobs.job_dependency AS d WHERE d.job_id = revived.id)
    FROM revived
    RETURNING id, has_dependents
), dependents AS (
    SELECT jobs.revive_dependents(i.id) AS revived FROM inserted AS i WHERE i.has_dependents
), recounted AS (
    -- A batch member counts again when it finalizes again, unless its batch fired (migration 17).
    SELECT jobs.recount_batch_members(array_agg(i.id), array_agg(t.old_state)) AS recounted
    FROM inserted AS i
    JOIN finished AS t ON t.id = i.id
    WHERE i.has_dependents
    HAVING count(*) > 0
), notified AS (
    SELECT pg_notify('jobs_inserted', u.queue) FROM updated AS u
)
SELECT coalesce((SELECT old_state::text FROM live), (SELECT 'pending' FROM waiting), (SELECT old_state::text FROM finished)) AS previous_state,
       (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS changed,
       (SELECT count(*) FROM notified) AS notified,
       coalesce((SELECT sum(revived) FROM dependents), 0) AS revived,
       coalesce((SELECT recounted FROM recounted), 0) AS recounted;

-- name: InsertWorkflow
-- A whole workflow in one statement, so it commits all or none (migration 15): the workflow row, one
-- jobs.workflow_step per step, the edges, the steps without dependencies into jobs.job (available,
-- has_dependents when some step waits for them; the insert trigger notifies each queue once) and
-- the others into jobs.job_pending, each waiting for its number of dependencies. One set-based
-- INSERT per table, whatever the number of steps: ids are drawn from jobs.job's identity once per
-- step (the steps CTE is read several times, so it is computed once) and edges ($13 dependency,
-- $14 dependent) are 1-based step positions. The client has checked the graph is acyclic.
-- Dependencies on existing jobs ($17 job id, $18 dependent step; dependsOnJobIds) are edges too;
-- the client locked them and counted only those not finished in waiting_on (LockLiveDependencies,
-- LockWaitingDependencies, ClassifyDependencies). A step the client found doomed ($15: a failed
-- job it depends on, or $16: a doomed step of this workflow, $19 the state that one ended in; no
-- "run anyway") goes straight to the history, cancelled with the error resolve_dependents writes.
WITH workflow AS (
    INSERT INTO jobs.workflow (name, step_count, created_by)
    VALUES ($1, cardinality($4::text[]), $2)
    RETURNING id
), steps AS MATERIALIZED (
    SELECT s.ordinal::integer AS ordinal, nextval('jobs.job_id_seq') AS job_id, s.step, s.queue, s.kind, s.args, s.priority,
           s.max_attempts, s.policy, s.waiting_on, s.has_dependents, s.failed_job, s.failed_step, s.failed_state
    -- Each array is read through a scalar subquery, so the plan does not inline it as a constant (an
    -- unnamed statement is planned with its values): a fan-out of 10,000 and a fan-in took 654 ms
    -- to insert that way, 414 ms this way (the scan alone: 375 ms against 30).
    FROM unnest((SELECT $4::text[]), (SELECT $5::text[]), (SELECT $6::text[]), (SELECT $7::jsonb[]), (SELECT $8::smallint[]),
                (SELECT $9::smallint[]), (SELECT $10::text[]), (SELECT $11::integer[]), (SELECT $12::boolean[]),
                (SELECT $15::bigint[]), (SELECT $16::integer[]), (SELECT $19::text[]))
         WITH ORDINALITY AS s (step, queue, kind, args, priority, max_attempts, policy, waiting_on, has_dependents,
                               failed_job, failed_step, failed_state, ordinal)
), named AS (
    INSERT INTO jobs.workflow_step (job_id, workflow_id, ordinal, step, on_dependency_failure)
    SELECT st.job_id, w.id, st.ordinal, st.step, st.policy
    FROM steps AS st
    CROSS JOIN workflow AS w
), edges AS (
    INSERT INTO jobs.job_dependency (job_id, dependent_id)
    SELECT a.job_id, b.job_id
    FROM unnest($13::integer[], $14::integer[]) AS e (dependency, dependent)
    JOIN steps AS a ON a.ordinal = e.dependency
    JOIN steps AS b ON b.ordinal = e.dependent
    UNION ALL
    SELECT e.job_id, b.job_id
    FROM unnest($17::bigint[], $18::integer[]) AS e (job_id, dependent)
    JOIN steps AS b ON b.ordinal = e.dependent
), doomed AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                  attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT st.job_id, 'cancelled', st.queue, st.kind, st.args, st.priority, 0, st.max_attempts, now(), now(), NULL, now(), NULL,
           jsonb_build_array(jsonb_build_object(
               'attempt', 0,
               'at', now(),
               'type', 'DependencyFailed',
               'dependency', coalesce(st.failed_job, fs.job_id),
               'message', 'dependency ' || coalesce(st.failed_job, fs.job_id) || coalesce(' (step ''' || coalesce(fs.step, ws.step) || ''')', '')
                          || ' ended ' || st.failed_state || ', so this job was cancelled')),
           NULL, $3, $2
    FROM steps AS st
    LEFT JOIN steps AS fs ON fs.ordinal = st.failed_step
    LEFT JOIN jobs.workflow_step AS ws ON ws.job_id = st.failed_job
    WHERE st.failed_state IS NOT NULL
), ready AS (
    INSERT INTO jobs.job (id, state, queue, kind, args, priority, max_attempts, run_at, trace_parent, created_by, has_dependents)
    OVERRIDING SYSTEM VALUE
    SELECT st.job_id, 'available', st.queue, st.kind, st.args, st.priority, st.max_attempts, now(), $3, $2, st.has_dependents
    FROM steps AS st
    WHERE st.waiting_on = 0
      AND st.failed_state IS NULL
), waiting AS (
    INSERT INTO jobs.job_pending (id, queue, kind, args, priority, max_attempts, trace_parent, created_by, waiting_on, on_dependency_failure)
    SELECT st.job_id, st.queue, st.kind, st.args, st.priority, st.max_attempts, $3, $2, st.waiting_on, st.policy
    FROM steps AS st
    WHERE st.waiting_on > 0
      AND st.failed_state IS NULL
)
SELECT (SELECT id FROM workflow) AS workflow_id, st.ordinal, st.job_id,
       CASE WHEN st.failed_state IS NOT NULL THEN 'cancelled' WHEN st.waiting_on = 0 THEN 'available' ELSE 'pending' END AS state
FROM steps AS st
ORDER BY st.ordinal;

-- name: SelectWorkflow
SELECT id, name, step_count, created_at, created_by
FROM jobs.workflow
WHERE id = $1;

-- name: SelectWorkflowSteps
-- Every step of workflow $1 in the order given, with its state wherever its job is (one statement,
-- one snapshot: waiting, live or finished). A step found nowhere finished while its Worker kept no
-- history (RetentionPeriod 0): its state is null.
SELECT s.ordinal, s.step, s.job_id, s.on_dependency_failure,
       coalesce(j.state::text, CASE WHEN p.id IS NOT NULL THEN 'pending' END, h.state::text) AS state,
       coalesce(j.attempt, h.attempt, 0::smallint) AS attempt,
       coalesce(j.errors, p.errors, h.errors) -> -1 ->> 'message' AS last_error,
       h.finalized_at,
       ARRAY(SELECT ds.step
             FROM jobs.job_dependency AS d
             JOIN jobs.workflow_step AS ds ON ds.job_id = d.job_id
             WHERE d.dependent_id = s.job_id
             ORDER BY ds.ordinal) AS depends_on,
       ARRAY(SELECT d.job_id
             FROM jobs.job_dependency AS d
             WHERE d.dependent_id = s.job_id
               AND NOT EXISTS (SELECT 1 FROM jobs.workflow_step AS ds WHERE ds.job_id = d.job_id AND ds.workflow_id = s.workflow_id)
             ORDER BY d.job_id) AS depends_on_job_ids
FROM jobs.workflow_step AS s
LEFT JOIN jobs.job AS j ON j.id = s.job_id
LEFT JOIN jobs.job_pending AS p ON p.id = s.job_id
LEFT JOIN LATERAL (
    SELECT hh.state, hh.attempt, hh.errors, hh.finalized_at
    FROM jobs.job_history AS hh
    WHERE hh.id = s.job_id
    LIMIT 1) AS h ON true
WHERE s.workflow_id = $1
ORDER BY s.ordinal;

-- name: LockLiveDependencies
-- Sent before InsertWorkflow when a step depends on existing jobs by id (dependsOnJobIds), with
-- LockWaitingDependencies and ClassifyDependencies in the same round trip and transaction. A live
-- dependency is flagged (has_dependents), which locks it: a finisher deleting it now is waited for
-- (the dependency is then found finished), one that comes later waits for this transaction and
-- reads the flag, so it resolves the new steps.
UPDATE jobs.job
SET has_dependents = true
WHERE id = ANY ($1::bigint[])
RETURNING id;

-- name: LockWaitingDependencies
-- Then the dependencies that wait themselves, in id order as jobs.resolve_dependents locks them:
-- none is released before the new edges are committed, so its release flags it.
SELECT id
FROM jobs.job_pending
WHERE id = ANY ($1::bigint[])
ORDER BY id
FOR UPDATE;

-- name: ClassifyDependencies
-- Each dependency's state now (a snapshot later than the locks): live, 'pending', or final from the
-- history; null when no job has the id (or it finished where no history is kept); and who enqueued
-- it (the Api lets a producer depend only on its own jobs).
SELECT d.id,
       coalesce((SELECT j.state::text FROM jobs.job AS j WHERE j.id = d.id),
                (SELECT 'pending' FROM jobs.job_pending AS p WHERE p.id = d.id),
                (SELECT h.state::text FROM jobs.job_history AS h WHERE h.id = d.id LIMIT 1)) AS state,
       coalesce((SELECT j.created_by FROM jobs.job AS j WHERE j.id = d.id),
                (SELECT p.created_by FROM jobs.job_pending AS p WHERE p.id = d.id),
                (SELECT h.created_by FROM jobs.job_history AS h WHERE h.id = d.id LIMIT 1)) AS created_by
FROM unnest($1::bigint[]) AS d (id);

-- name: ResolveOutsideDependents
-- The last statement of a workflow's cancel: a step it cancelled that a job outside the workflow
-- depends on by id (dependsOnJobIds) has that dependent resolved as for any cancelled dependency
-- (jobs.resolve_dependents: cancelled, or run anyway). The steps this transaction cancelled are the
-- workflow's history rows finalized at its now(). The workflow's own waiting steps are gone already,
-- so only outside dependents are touched; a workflow nothing outside depends on calls nothing.
SELECT coalesce(jobs.resolve_dependents(array_agg(s.job_id), array_agg('cancelled'::jobs.job_state), true), 0) AS released
FROM jobs.workflow_step AS s
WHERE s.workflow_id = $1
  AND EXISTS (SELECT 1
              FROM jobs.job_dependency AS d
              WHERE d.job_id = s.job_id
                AND NOT EXISTS (SELECT 1 FROM jobs.workflow_step AS o WHERE o.job_id = d.dependent_id AND o.workflow_id = $1))
  AND EXISTS (SELECT 1 FROM jobs.job_history AS h WHERE h.id = s.job_id AND h.state = 'cancelled' AND h.finalized_at = now())
HAVING count(*) > 0;

-- name: LockWorkflow
-- The first statement of a workflow's cancel (CancelWorkflowAsync: LockWorkflow, then one round
-- trip of LockWorkflowLiveSteps, LockWorkflowWaitingSteps and CancelWorkflowSteps, one transaction).
-- Two cancels of one workflow take turns here, so the second finds nothing left and says 0.
SELECT id, created_by
FROM jobs.workflow
WHERE id = $1
FOR NO KEY UPDATE;

-- name: LockWorkflowLiveSteps
-- Locks the workflow's steps that are live but not running, in id order, before any waiting step:
-- a finisher holds the running row it deletes while it locks the waiting rows of its dependents
-- (jobs.resolve_dependents), so the cancel must not hold a waiting row while it waits for a live
-- one. Holding no waiting row yet, it may wait here for such a finisher, which then commits. A row
-- claimed meanwhile is rechecked on its newest version, is running, and is left to run; claims
-- skip the rows locked here (SKIP LOCKED).
SELECT j.id
FROM jobs.job AS j
WHERE j.id IN (SELECT s.job_id FROM jobs.workflow_step AS s WHERE s.workflow_id = $1)
  AND j.state IN ('available', 'scheduled', 'retryable')
ORDER BY j.id
FOR UPDATE OF j;

-- name: LockWorkflowWaitingSteps
-- Then its waiting steps, in id order as jobs.resolve_dependents locks them: a finisher that got
-- there first releases (or cancels) its dependents and commits before this returns; one that comes
-- later waits for the cancel and finds them gone. Either way, once these are held no step of the
-- workflow can be released any more.
SELECT p.id
FROM jobs.job_pending AS p
WHERE p.id IN (SELECT s.job_id FROM jobs.workflow_step AS s WHERE s.workflow_id = $1)
ORDER BY p.id
FOR UPDATE OF p;

-- name: CancelWorkflowSteps
-- Cancels every step of workflow $1 that has not started: waiting ones leave jobs.job_pending,
-- available, scheduled and retryable ones leave jobs.job, each for the history as 'cancelled' with
-- an error WorkflowCancelled naming the workflow (a retry of one of them does not revive the
-- others: that is kept for DependencyFailed). A step released by a finisher just before the
-- waiting rows were locked is live now and taken too; SKIP LOCKED leaves one a claim holds at this
-- moment (it is starting: it runs) and one a finisher holds (it is finishing). Running steps are
-- left to finish and counted. Dependents in the workflow are not resolved: every one still waiting
-- is cancelled here; those outside it (by id) are ResolveOutsideDependents's.
WITH steps AS MATERIALIZED (
    SELECT s.job_id FROM jobs.workflow_step AS s WHERE s.workflow_id = $1
), live AS (
    SELECT j.id
    FROM jobs.job AS j
    WHERE j.id IN (SELECT job_id FROM steps)
      AND j.state IN ('available', 'scheduled', 'retryable')
    FOR UPDATE OF j SKIP LOCKED
), cancelled AS (
    DELETE FROM jobs.job AS j
    USING live AS l
    WHERE j.id = l.id
    RETURNING j.id, j.queue, j.kind, j.args, j.priority, j.attempt, j.max_attempts, j.run_at, j.created_at,
              j.attempted_at, j.attempted_by, j.errors, j.idempotency_key, j.trace_parent, j.created_by
), withdrawn AS (
    DELETE FROM jobs.job_pending AS p
    WHERE p.id IN (SELECT job_id FROM steps)
    RETURNING p.id, p.queue, p.kind, p.args, p.priority, 0::smallint AS attempt, p.max_attempts, p.created_at AS run_at, p.created_at,
              NULL::timestamptz AS attempted_at, NULL::text AS attempted_by, p.errors, NULL::text AS idempotency_key, p.trace_parent,
              p.created_by
), gone AS (
    SELECT * FROM cancelled
    UNION ALL
    SELECT * FROM withdrawn
), kept AS (
    INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                  attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
    SELECT id, 'cancelled', queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
           attempted_at, now(), attempted_by,
           errors || jsonb_build_array(jsonb_build_object(
               'attempt', attempt,
               'at', now(),
               'type', 'WorkflowCancelled',
               'message', 'workflow ' || $1 || ' was cancelled before this step started')),
           idempotency_key, trace_parent, created_by
    FROM gone
)
SELECT (SELECT count(*) FROM gone) AS cancelled,
       (SELECT count(*) FROM jobs.job AS j WHERE j.id IN (SELECT job_id FROM steps)) - (SELECT count(*) FROM cancelled) AS left_running;
-- name: InsertBatch
-- A batch ($1 name, $2 its creator, $3 trace parent) and its callback ($4 to $9: queue, kind, args,
-- priority, max attempts, creator) (migration 17): the callback waits in jobs.job_pending, running whatever
-- its members' outcomes (policy 'run'), for one count: the open token, which SealBatch removes.
-- Members are added by AddBatchJobs, each one more count. Its id is drawn from jobs.job's identity,
-- so it keeps it when it enters jobs.job.
WITH callback AS MATERIALIZED (
    SELECT nextval('jobs.job_id_seq') AS id
), batch AS (
    INSERT INTO jobs.batch (callback_id, name, created_by)
    SELECT c.id, $1, $2 FROM callback AS c
    RETURNING id, callback_id
), waiting AS (
    INSERT INTO jobs.job_pending (id, queue, kind, args, priority, max_attempts, trace_parent, created_by, waiting_on, on_dependency_failure)
    SELECT c.id, $4, $5, $6, $7, $8, $3, $9, 1, 'run'
    FROM callback AS c
)
SELECT b.id AS batch_id, b.callback_id FROM batch AS b;

-- name: LockBatchCallback
-- Sent first by every change of batch $1 (add, seal): locks its waiting callback, the row every
-- finisher of a member locks first (jobs.resolve_dependents), so the change and the finishers take
-- turns, and the next statement's snapshot sees every finish and seal committed before. A batch that
-- fired (or whose callback was cancelled) has no such row: nothing is locked, and the change finds it closed.
SELECT p.id
FROM jobs.job_pending AS p
WHERE p.id = (SELECT b.callback_id FROM jobs.batch AS b WHERE b.id = $1)
FOR UPDATE;

-- name: AddBatchJobs
-- Adds jobs to batch $1 (trace parent $2, then one array per field) if it is open (not sealed, its callback still waiting), after
-- LockBatchCallback: each enters jobs.job (available, or scheduled for a future run-at) with
-- has_dependents, an edge to the callback, and one more count for the callback to wait for. One
-- set-based INSERT per table whatever the number; ids are drawn once per job (the members CTE is
-- read several times), and the arrays are read through scalar subqueries as in InsertWorkflow. No
-- row comes back when the batch is not open.
WITH batch AS (
    SELECT b.id, b.callback_id
    FROM jobs.batch AS b
    WHERE b.id = $1
      AND b.sealed_at IS NULL
      AND EXISTS (SELECT 1 FROM jobs.job_pending AS p WHERE p.id = b.callback_id)
), members AS MATERIALIZED (
    SELECT m.ordinal::integer AS ordinal, nextval('jobs.job_id_seq') AS id, m.queue, m.kind, m.args, m.priority, m.max_attempts,
           coalesce(m.run_at, now()) AS run_at, m.created_by,
           CASE WHEN m.run_at > now() THEN 'scheduled'::jobs.job_state ELSE 'available'::jobs.job_state END AS state
    FROM unnest((SELECT $3::text[]), (SELECT $4::text[]), (SELECT $5::jsonb[]), (SELECT $6::smallint[]), (SELECT $7::smallint[]),
                (SELECT $8::timestamptz[]), (SELECT $9::text[]))
         WITH ORDINALITY AS m (queue, kind, args, priority, max_attempts, run_at, created_by, ordinal)
    WHERE EXISTS (SELECT 1 FROM batch)
), inserted AS (
    -- The insert trigger of jobs.job notifies each queue once.
    INSERT INTO jobs.job (id, state, queue, kind, args, priority, max_attempts, run_at, trace_parent, created_by, has_dependents)
    OVERRIDING SYSTEM VALUE
    SELECT m.id, m.state, m.queue, m.kind, m.args, m.priority, m.max_attempts, m.run_at, $2, m.created_by, true
    FROM members AS m
), edges AS (
    INSERT INTO jobs.job_dependency (job_id, dependent_id)
    SELECT m.id, b.callback_id
    FROM members AS m
    CROSS JOIN batch AS b
), waiting AS (
    UPDATE jobs.job_pending AS p
    SET waiting_on = p.waiting_on + (SELECT count(*) FROM members)
    FROM batch AS b
    WHERE p.id = b.callback_id
), counted AS (
    UPDATE jobs.batch AS b
    SET job_count = b.job_count + (SELECT count(*) FROM members)
    FROM batch AS x
    WHERE b.id = x.id
)
SELECT m.ordinal, m.id, m.state::text AS state
FROM members AS m
ORDER BY m.ordinal;

-- name: SealBatch
-- Closes batch $1 to new jobs, after LockBatchCallback: its callback no longer waits for the open
-- token. Returns the callback's id when this call sealed it (none when it already was, or when its
-- callback was cancelled); ReleaseBatchCallback then fires it if every member is finalized.
WITH sealed AS (
    UPDATE jobs.batch AS b
    SET sealed_at = now()
    WHERE b.id = $1
      AND b.sealed_at IS NULL
    RETURNING b.callback_id
)
UPDATE jobs.job_pending AS p
SET waiting_on = p.waiting_on - 1
FROM sealed AS s
WHERE p.id = s.callback_id
RETURNING p.id AS callback_id;

-- name: ReleaseBatchCallback
-- After SealBatch, in the next statement (its snapshot sees the seal): the callback $1 enters
-- jobs.job with its batch's counts when nothing is left to wait for (an empty batch fires at once).
-- (jobs.release_pending counts workflow steps, which a callback is not: see SelectCallbackFired.)
SELECT jobs.release_pending(ARRAY[$1::bigint]);

-- name: SelectCallbackFired
-- After ReleaseBatchCallback, in the next statement (its snapshot sees the release): whether the
-- callback $1 entered jobs.job, that is, fired.
SELECT EXISTS (SELECT 1 FROM jobs.job WHERE id = $1) AS fired;

-- name: SelectBatch
-- Batch $1 with its counts and its callback's state wherever the callback is (one statement, one
-- snapshot). A callback found nowhere fired and finished while its Worker kept no history.
SELECT b.id, b.name, b.callback_id, b.job_count, b.completed, b.discarded, b.cancelled, b.created_at, b.created_by,
       b.sealed_at, b.fired_at,
       coalesce((SELECT j.state::text FROM jobs.job AS j WHERE j.id = b.callback_id),
                (SELECT 'pending' FROM jobs.job_pending AS p WHERE p.id = b.callback_id),
                (SELECT h.state::text FROM jobs.job_history AS h WHERE h.id = b.callback_id LIMIT 1)) AS callback_state
FROM jobs.batch AS b
WHERE b.id = $1;

-- name: RegisterKinds
INSERT INTO jobs.kind (kind, worker, last_seen_at)
SELECT k, $2, now() FROM unnest($1::text[]) AS k
ON CONFLICT (kind) DO UPDATE SET worker = excluded.worker, last_seen_at = excluded.last_seen_at;
