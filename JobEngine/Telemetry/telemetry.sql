-- Queries behind the engine's telemetry.

-- name: CountLiveJobsByQueueAndState
-- Live states only, from the count table that migration 8's triggers keep in step with jobs.job:
-- a few hundred rows whatever the backlog or the history. Finalized counts belong to the Api's
-- /stats, not to a gauge sampled every few seconds.
SELECT queue, state::text AS state, sum(n)::bigint AS jobs
FROM jobs.job_count
WHERE state IN ('available', 'scheduled', 'running', 'retryable')
GROUP BY queue, state
HAVING sum(n) <> 0;
