-- Queries behind the engine's telemetry.

-- name: CountLiveJobsByQueueAndState
-- Live states only: their rows are what the partial indexes of migration 1 hold (runnable and
-- running), so the cost follows the backlog, not the millions of finalized rows kept for
-- inspection. Finalized counts belong to the Api's /stats, not to a gauge sampled every few seconds.
SELECT queue, state::text, count(*)
FROM jobs.job
WHERE state IN ('available', 'scheduled', 'running', 'retryable')
GROUP BY queue, state;
