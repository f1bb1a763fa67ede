-- The statistics of GET /stats, sent as one batch with the engine's OldestWaitingJobSeconds
-- (JobEngine/Sql/health.sql, which /health reads too). The counts come from the count tables that
-- migration 8's triggers keep in step with jobs.job; the others read an index range whose size
-- follows the backlog or a bounded sample, never the history (see README, "The Api").

-- name: CountByQueueAndState
-- One row per queue, state and shard (see migration 8): a few hundred rows at most.
SELECT queue, state::text, sum(n)::bigint
FROM jobs.job_count
GROUP BY queue, state
HAVING sum(n) <> 0;

-- name: FinishedPerMinute
-- The last hour of jobs.job_finished_minute: at most 60 minutes x queues x shards rows.
SELECT minute, queue, sum(completed)::bigint AS completed, sum(discarded)::bigint AS discarded
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
