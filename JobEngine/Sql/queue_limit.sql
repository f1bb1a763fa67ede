-- Queries on jobs.queue_limit and jobs.queue_start, one per name.

-- name: UpsertQueueLimit
-- The configuration of the starting worker becomes the limit every worker enforces.
INSERT INTO jobs.queue_limit (queue, max_running, rate_limit, rate_period)
VALUES ($1, $2, $3, $4 * interval '1 millisecond')
ON CONFLICT (queue) DO UPDATE
SET max_running = excluded.max_running, rate_limit = excluded.rate_limit, rate_period = excluded.rate_period;

-- name: SelectLimitedQueues
SELECT queue FROM jobs.queue_limit WHERE queue = ANY ($1::text[]);

-- name: PruneQueueStarts
-- Starts older than the longest window can no longer count against any limit.
DELETE FROM jobs.queue_start AS s
USING jobs.queue_limit AS l
WHERE s.queue = l.queue
  AND s.started_at < now() - coalesce(l.rate_period, interval '0');

-- name: SelectQueueLimits
-- Every queue's shared limits, for the admin area.
SELECT queue, max_running, rate_limit, (extract(epoch FROM rate_period) * 1000)::bigint AS rate_period_ms
FROM jobs.queue_limit
ORDER BY queue;
