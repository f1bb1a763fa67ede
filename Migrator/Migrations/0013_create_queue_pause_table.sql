-- Purpose: an operator can pause a queue: every Worker's claim skips it until it is resumed, and
--   jobs keep arriving and waiting meanwhile (unlike a cancel, nothing is lost).
-- Owner: the Migrator.
-- Expects: migration 12. A new, empty table: built in one transaction.
-- Result: jobs.queue_pause, one row per paused queue (when and by whom it was paused). The claim
--   reads it by primary key once per claim.
-- Rollback: drops the table; paused queues run again (Workers of this version need the table:
--   roll back with them).
-- Transaction: yes

-- migrate:up
CREATE TABLE jobs.queue_pause (
    queue     text        PRIMARY KEY,
    paused_at timestamptz NOT NULL DEFAULT now(),
    paused_by text,
    CONSTRAINT queue_pause_queue_length CHECK (char_length(queue) BETWEEN 1 AND 64)
);

GRANT SELECT, INSERT, DELETE ON jobs.queue_pause TO jobs_app;

-- migrate:down
DROP TABLE jobs.queue_pause;
