-- The statistics of GET /stats, sent as one batch with the engine's OldestWaitingJobSeconds
-- (JobEngine/Sql/health.sql, which /health reads too). The counts come from the count tables that
-- migration 8's triggers keep in step with jobs.job; the others read an index range whose size
-- follows the backlog or a bounded sample, never the history (see README, "The Api").

-- name: CountByQueueAndState
-- One row per queue, state and shard (see migration 8): a few hundred rows at most.
SELECT queue, state::text AS state, sum(n)::bigint AS jobs
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
-- milliseconds, over the latest 2,000 jobs (by id) of those finalized in the last hour: a backward
-- range of the history's id index in the day partitions of that hour (the hour prunes the others),
-- whose cost stays bounded however busy the hour was. Ids grow with time, so these are the hour's
-- newest jobs; a job enqueued long before it finished may fall outside the sample. With no
-- history kept (retention 0) it is empty.
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms
FROM (
    SELECT extract(epoch FROM attempted_at - greatest(run_at, created_at)) * 1000 AS latency_ms
    FROM jobs.job_history
    WHERE finalized_at >= now() - interval '1 hour'
      AND attempted_at IS NOT NULL
    ORDER BY id DESC
    LIMIT 2000
) AS finished;

-- name: QueueLatencyByQueue
-- The same wait per queue, for the queues that finished a job in the last hour (the per-minute
-- table): each queue's latest 200 finished jobs by id (a backward range of the history's
-- (queue, id) index, merged over the day partitions), of which those finalized in the last hour
-- count. A quiet queue gets its own figure however busy the others are, and each costs at most
-- 200 rows. The hour is checked after the limit: as an index condition it would let the planner
-- walk the hour's finalized_at range instead, every row of every queue, once per queue. With no
-- history kept (retention 0) it is empty.
SELECT q.queue,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.attempted_at - greatest(s.run_at, s.created_at)) * 1000) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM s.attempted_at - greatest(s.run_at, s.created_at)) * 1000) AS p95_ms
FROM (SELECT DISTINCT queue
      FROM jobs.job_finished_minute
      WHERE minute >= date_trunc('minute', now() - interval '1 hour')) AS q
CROSS JOIN LATERAL (
    SELECT h.attempted_at, h.run_at, h.created_at, h.finalized_at
    FROM jobs.job_history AS h
    WHERE h.queue = q.queue
    ORDER BY h.id DESC
    LIMIT 200
) AS s
WHERE s.finalized_at >= now() - interval '1 hour'
  AND s.attempted_at IS NOT NULL
GROUP BY q.queue
ORDER BY q.queue;
