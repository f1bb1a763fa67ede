-- Purpose: a vacuum of the live tables no longer stops every enqueue, claim and finish for up to
--   20 ms. jobs.job empties as fast as it fills (a finished job leaves it), so each autovacuum
--   (every 5 s under load, migration 1's settings and autovacuum_naptime = 5s) found empty pages at
--   its end and truncated them, which takes an ACCESS EXCLUSIVE lock: every INSERT, UPDATE and
--   DELETE of the table waits behind it, and the vacuum checks for waiters only every 20 ms
--   (PostgreSQL's VACUUM_TRUNCATE_LOCK_CHECK_INTERVAL). Seen with log_lock_waits at 2 ms: a
--   producer's insert waiting on the autovacuum worker's lock. The pages stay with the table
--   instead and the next inserts reuse them, as they reuse every other page vacuum frees. With
--   vacuum_truncate off, enqueue-to-start at 1,000 jobs/s on the stack (a Worker and a producer,
--   three alternated pairs): p99 6.71 / 9.15 / 8.42 ms against 7.93 / 10.61 / 11.16, starts over
--   10 ms 16 / 73 / 84 against 60 / 120 / 105 of about 10,500. jobs.job_pending, which workflow
--   steps and batch callbacks leave the same way, is set alike.
-- Owner: the Migrator.
-- Expects: migration 15 (jobs.job_pending). Each ALTER TABLE takes SHARE UPDATE EXCLUSIVE (reads
--   and writes go on; it waits for a running vacuum of that table). Neither table shrinks from now
--   on: after a burst its file keeps the burst's size, its free pages reused by later inserts
--   (VACUUM (TRUNCATE true) jobs.job, as the owner, returns them by hand, taking the lock once).
-- Result: jobs.job and jobs.job_pending with vacuum_truncate = false.
-- Rollback: resets vacuum_truncate on both tables (vacuum truncates again).
-- Transaction: yes

-- migrate:up
ALTER TABLE jobs.job SET (vacuum_truncate = false);
ALTER TABLE jobs.job_pending SET (vacuum_truncate = false);

-- migrate:down
ALTER TABLE jobs.job RESET (vacuum_truncate);
ALTER TABLE jobs.job_pending RESET (vacuum_truncate);
