-- The statistics of GET /stats, sent as one batch. The counts come from the count tables that
-- migration 8's triggers keep in step with jobs.job; the other two read an index range whose size
-- follows the backlog or a bounded sample, never the history (see README, "The Api").

-- name: CountByQueueAndState
-- One row per queue, state and shard (see migration 8): a few hundred rows at most.
SELECT queue, state::text, sum(n)::bigint
FROM jobs.job_count
GROUP BY queue, state
HAVING sum(n) <> 0;

-- name: FinishedPerMinute
-- The last hour of jobs.job_finished_minute: at most 60 minutes x queues x shards rows.
SELECT minute, queue, sum(completed)::bigint AS completed, sum(discarded)::bigint AS failed
FROM jobs.job_finished_minute
WHERE minute >= date_trunc('minute', now() - interval '1 hour')
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: QueueLatency
-- Wait from enqueue (or run-at, whichever is later) to the start of the latest attempt, in
-- milliseconds, over the latest 2,000 jobs finalized in the last hour: a backward range of the
-- history's finalized_at index in the day partitions of that hour, whose cost stays bounded
-- however busy the hour was. With no history kept (retention 0) it is empty.
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
FROM (
    SELECT extract(epoch FROM attempted_at - greatest(run_at, created_at)) * 1000 AS latency_ms
    FROM jobs.job_history
    WHERE finalized_at >= now() - interval '1 hour'
      AND attempted_at IS NOT NULL
    ORDER BY finalized_at DESC
    LIMIT 2000
) AS finished;

-- name: OldestWaiting
-- Age in seconds of the job that has been due the longest. job_runnable_idx (migration 1) is
-- ordered by queue, priority, run_at: a skip scan visits each (queue, priority) pair once and
-- reads its earliest run_at, so the cost follows the number of pairs, not the backlog.
WITH RECURSIVE runnable_group AS (
    (SELECT queue, priority
     FROM jobs.job
     WHERE state IN ('available', 'scheduled', 'retryable')
     ORDER BY queue, priority
     LIMIT 1)
    UNION ALL
    SELECT next_group.queue, next_group.priority
    FROM runnable_group AS g
    CROSS JOIN LATERAL (
        SELECT queue, priority
        FROM jobs.job
        WHERE state IN ('available', 'scheduled', 'retryable')
          AND (queue, priority) > (g.queue, g.priority)
        ORDER BY queue, priority
        LIMIT 1) AS next_group
)
SELECT extract(epoch FROM now() - min(earliest.run_at))
FROM runnable_group AS g
CROSS JOIN LATERAL (
    SELECT run_at
    FROM jobs.job
    WHERE state IN ('available', 'scheduled', 'retryable')
      AND queue = g.queue
      AND priority = g.priority
    ORDER BY run_at
    LIMIT 1) AS earliest
WHERE earliest.run_at <= now();
