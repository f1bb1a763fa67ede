-- Queries on jobs.queue_pause (migration 13), one per name: a paused queue is skipped by every
-- Worker's claim (ClaimJobs) until it is resumed.

-- name: PauseQueue
-- Idempotent: pausing a paused queue keeps its first pause. Returns whether this call paused it.
INSERT INTO jobs.queue_pause (queue, paused_by)
VALUES ($1, $2)
ON CONFLICT (queue) DO NOTHING
RETURNING true AS paused_now;

-- name: ResumeQueue
-- Idempotent. The Workers of the queue are woken at once (the insert channel, payload the queue),
-- so its waiting jobs start without waiting for a poll.
WITH resumed AS (
    DELETE FROM jobs.queue_pause WHERE queue = $1 RETURNING queue
)
SELECT count(*) AS resumed_now, count(pg_notify('jobs_inserted', queue)) AS notified
FROM resumed;

-- name: SelectPausedQueues
SELECT queue, paused_at, paused_by FROM jobs.queue_pause ORDER BY queue;
