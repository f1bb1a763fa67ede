-- The finish statement of the engine before issue 18 (jobs finalized in place, in one table
-- with the admin listing's indexes), kept so the ceiling scenario can run today's schema
-- (migration 8) beside the new one in the same run. Its ClaimJobs is the engine's, unchanged,
-- on migration 8's tables plus the empty pause table it reads (AddQueuePauseTable).

-- name: AddQueuePauseTable
-- Migration 13's table, empty: today's claim asks it whether the queue is paused.
CREATE TABLE jobs.queue_pause (queue text PRIMARY KEY, paused_at timestamptz NOT NULL DEFAULT now(), paused_by text);
GRANT SELECT ON jobs.queue_pause TO jobs_app;

-- name: FinishJobsInPlace
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
