-- The statistics of GET /stats, sent as one batch. Each query reads an index whose size follows
-- the backlog or the last hour, except the counts, which read every row once (see README, "The Api").

-- name: CountByQueueAndState
SELECT queue, state::text, count(*)
FROM jobs.job
GROUP BY queue, state;

-- name: FinishedPerMinute
-- The last hour of finalized jobs: a range of job_finalized_at_idx (migration 1, same predicate).
SELECT date_trunc('minute', finalized_at) AS minute, queue,
       count(*) FILTER (WHERE state = 'completed') AS completed,
       count(*) FILTER (WHERE state = 'discarded') AS failed
FROM jobs.job
WHERE state IN ('completed', 'discarded', 'cancelled')
  AND finalized_at >= now() - interval '1 hour'
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: QueueLatency
-- Wait from enqueue (or run-at, whichever is later) to the start of the latest attempt, in
-- milliseconds, over the latest 10,000 jobs finalized in the last hour: a backward range of
-- job_finalized_at_idx whose cost stays bounded however busy the hour was.
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
FROM (
    SELECT extract(epoch FROM attempted_at - greatest(run_at, created_at)) * 1000 AS latency_ms
    FROM jobs.job
    WHERE state IN ('completed', 'discarded', 'cancelled')
      AND finalized_at >= now() - interval '1 hour'
      AND attempted_at IS NOT NULL
    ORDER BY finalized_at DESC
    LIMIT 10000
) AS finished;

-- name: OldestWaiting
-- Age in seconds of the job that has been due the longest: job_runnable_idx (migration 1).
SELECT extract(epoch FROM now() - min(run_at))
FROM jobs.job
WHERE state IN ('available', 'scheduled', 'retryable')
  AND run_at <= now();
