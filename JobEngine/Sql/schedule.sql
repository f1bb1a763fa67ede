-- Queries on jobs.schedule and jobs.schedule_run, one per name.

-- name: UpsertSchedule
-- Definitions come from configuration; the paused flag and the run history stay as they are.
INSERT INTO jobs.schedule (name, cron, time_zone, kind, args, queue, catch_up, catch_up_window)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8 * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE
SET cron = excluded.cron, time_zone = excluded.time_zone, kind = excluded.kind, args = excluded.args,
    queue = excluded.queue, catch_up = excluded.catch_up, catch_up_window = excluded.catch_up_window,
    updated_at = now();

-- name: SelectScheduleState
SELECT paused, last_instant, now() AS now FROM jobs.schedule WHERE name = $1;

-- name: RecordScheduleRun
-- The instant is the primary key: of all workers that reach this instant, one inserts the row
-- (and, in the same transaction, the job); the others insert nothing and enqueue nothing.
INSERT INTO jobs.schedule_run (schedule_name, instant, outcome)
VALUES ($1, $2, $3)
ON CONFLICT (schedule_name, instant) DO NOTHING;

-- name: SetScheduleRunJob
UPDATE jobs.schedule_run SET job_id = $3 WHERE schedule_name = $1 AND instant = $2;

-- name: AdvanceSchedule
UPDATE jobs.schedule
SET last_instant = $2,
    last_job_id = coalesce($3, last_job_id)
WHERE name = $1 AND (last_instant IS NULL OR last_instant < $2);

-- name: SelectSchedules
SELECT s.name, s.cron, s.time_zone, s.kind, s.queue, s.paused, s.catch_up, s.last_instant, s.last_job_id
FROM jobs.schedule AS s
ORDER BY s.name;

-- name: SetSchedulePaused
UPDATE jobs.schedule SET paused = $2, updated_at = now() WHERE name = $1;

-- name: PruneScheduleRuns
DELETE FROM jobs.schedule_run WHERE recorded_at < now() - interval '7 days';

-- name: SelectScheduleJob
-- What "run now" enqueues: the job of the schedule's next instant, outside its instants (no
-- schedule_run row, last_instant unchanged), so the one-job-per-instant rule is untouched.
SELECT kind, args::text, queue FROM jobs.schedule WHERE name = $1;
