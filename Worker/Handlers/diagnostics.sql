-- Queries of the diagnostic kinds. They touch the schema "diagnostics", which is NOT part of the
-- product schema: whoever runs the record kind (the chaos harness, tests/Reliability.Tests) creates
-- it as the owner and grants INSERT on it to the services' role for that run only.

-- name: RecordExecution
-- One statement, so the execution row and the effect commit together or not at all. The
-- execution log is the non-idempotent effect (one row per run: duplicates show); the effect is
-- keyed on the job id with ON CONFLICT DO NOTHING, the idempotent way a handler should write.
WITH execution AS (
    INSERT INTO diagnostics.execution (job_id, attempt, worker_id, pid)
    VALUES ($1, $2, $3, $4)
)
INSERT INTO diagnostics.effect (job_id, worker_id)
VALUES ($1, $3)
ON CONFLICT (job_id) DO NOTHING;
