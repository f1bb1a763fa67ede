-- Purpose: jobs.resolve_dependents keeps planning its queries with their values, whatever the
--   transaction calling it set. A Worker's outcome write (FinishJobs, which calls the function for
--   jobs with dependents) now keeps one generic plan per connection, with sequential and bitmap
--   scans off (PlanIdListWritesOnceForThisTransaction in JobEngine/Sql/job.sql): planning a write of
--   about 800 outcomes took 0.4-0.5 ms of its 10. Those settings would reach the function's queries,
--   whose joins start from a few dependents and were written for plans made with their values, so
--   the function now sets its own: custom plans and every scan allowed, as before (and nested loops
--   on, as it already did).
-- Owner: the Migrator. The function runs as the caller (jobs_app); only its settings change.
-- Expects: migration 17 (the function's current body). Alters one function's settings: no table
--   is touched, no lock is held past the catalog change. A Worker of the version before runs
--   unchanged (it set none of those settings).
-- Result: jobs.resolve_dependents(bigint[], jobs.job_state[], boolean) with plan_cache_mode =
--   force_custom_plan, enable_seqscan = on and enable_bitmapscan = on, besides enable_nestloop = on.
-- Rollback: resets the three settings. Roll the Worker back first: a Worker of this version with
--   the settings reset plans the function's queries once per connection, made with its own settings.
-- Transaction: yes

-- migrate:up
ALTER FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean)
    SET enable_seqscan = on;
ALTER FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean)
    SET enable_bitmapscan = on;

-- migrate:down
ALTER FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean)
    RESET plan_cache_mode;
ALTER FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean)
    RESET enable_seqscan;
ALTER FUNCTION jobs.resolve_dependents(bigint[], jobs.job_state[], boolean)
    RESET enable_bitmapscan;
