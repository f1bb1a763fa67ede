-- Queries on jobs.worker (migration 11), one per name: every running Worker process says it is
-- alive, so the rescuer knows when running jobs may have been left behind.

-- name: RecordWorkerHeartbeat
-- Written when the Worker starts and on every lease renewal tick (a third of a lease). After
-- lease_ms without one, the Worker counts as gone.
INSERT INTO jobs.worker AS w (worker_id, queues, lease_ms)
VALUES ($1, $2::text[], $3)
ON CONFLICT (worker_id) DO UPDATE
    SET heartbeat_at = now(),
        queues = excluded.queues,
        lease_ms = excluded.lease_ms;

-- name: AnyWorkerGone
-- True when some Worker has not heartbeated for a lease: its running jobs' leases have expired
-- or will soon, and the rescuer must look for them.
SELECT EXISTS (
    SELECT 1 FROM jobs.worker
    WHERE heartbeat_at < now() - lease_ms * interval '1 millisecond') AS any_gone;

-- name: ForgetGoneWorkers
-- Run after a rescue sweep: a Worker silent for two leases claimed its last job at most a third
-- of a lease after its last heartbeat, so every lease it held has expired and been swept by now.
DELETE FROM jobs.worker
WHERE heartbeat_at < now() - 2 * lease_ms * interval '1 millisecond';

-- name: RemoveWorker
-- A Worker that stopped cleanly (its jobs written or released) leaves nothing to rescue.
DELETE FROM jobs.worker
WHERE worker_id = $1;
