-- Purpose: every running Worker process says it is alive. Once the claim stops writing any index
--   (migration 12), no index finds running jobs, so the rescuer looks for expired leases only when
--   a Worker has stopped saying it is alive (and on a slow timer as a backstop) instead of on
--   every tick; the admin area and the Api see which queues a live Worker serves.
-- Owner: the Migrator.
-- Expects: migration 10. A new, empty table: built in one transaction.
-- Result: jobs.worker (one row per Worker process: its queues, when it started, its last
--   heartbeat and its lease duration, after which it counts as gone).
-- Rollback: drops the table; rescuers of this version then find no stale worker and rescue only on
--   their backstop timer, so roll back together with the Worker.
-- Transaction: yes

-- migrate:up
CREATE TABLE jobs.worker (
    worker_id    text        PRIMARY KEY,
    queues       text[]      NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    lease_ms     bigint      NOT NULL CHECK (lease_ms > 0),
    CONSTRAINT worker_id_length CHECK (char_length(worker_id) BETWEEN 1 AND 200)
) WITH (fillfactor = 50);

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.worker TO jobs_app;

-- migrate:down
DROP TABLE jobs.worker;
