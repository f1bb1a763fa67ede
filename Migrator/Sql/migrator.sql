-- The Migrator's own queries, one per name. Identifiers that cannot be parameters (role and
-- index names) are quoted by the server with format('%I'), never pasted in by code.

-- name: TryLock
SELECT pg_try_advisory_lock(hashtext('jobs-migrator'));

-- name: WaitForLock
SELECT pg_advisory_lock(hashtext('jobs-migrator'));

-- name: Unlock
SELECT pg_advisory_unlock(hashtext('jobs-migrator'));

-- name: SetLockTimeout
SELECT set_config('lock_timeout', $1, false);

-- name: EnsureHistory
CREATE SCHEMA IF NOT EXISTS jobs_migrations;
CREATE TABLE IF NOT EXISTS jobs_migrations.applied_migration (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL
);

-- name: HistoryExists
SELECT to_regclass('jobs_migrations.applied_migration') IS NOT NULL;

-- name: SelectApplied
SELECT version, name, checksum, applied_at FROM jobs_migrations.applied_migration ORDER BY version;

-- name: InsertApplied
INSERT INTO jobs_migrations.applied_migration (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4);

-- name: DeleteApplied
DELETE FROM jobs_migrations.applied_migration WHERE version = $1;

-- name: RoleExists
SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1);

-- name: CreateRoleStatement
-- The role can log in and nothing else: no superuser, no CREATEDB, no CREATEROLE, no inherited rights.
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD %L', $1, $2);

-- name: AlterRolePasswordStatement
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1, $2);

-- name: GrantConnectStatement
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), $1);

-- name: SelectInvalidIndexes
-- Plain indexes only: a partitioned index (relkind 'I') is invalid until every partition's index
-- is attached to it, which the migration that creates it does; it is neither rebuilt nor dropped.
SELECT c.relname AS index_name
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'jobs' AND NOT i.indisvalid AND c.relkind = 'i'
ORDER BY c.relname;

-- name: DropIndexStatement
SELECT format('DROP INDEX CONCURRENTLY IF EXISTS jobs.%I', $1);

-- name: ReindexStatement
SELECT format('REINDEX INDEX CONCURRENTLY jobs.%I', $1);

-- name: SelectIndexes
SELECT c.relname AS index_name, t.relname AS table_name, i.indisvalid AS is_valid, pg_relation_size(c.oid) AS size_bytes,
       coalesce(s.idx_scan, 0) AS scans
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_indexes AS s ON s.indexrelid = i.indexrelid
WHERE n.nspname = 'jobs'
ORDER BY t.relname, c.relname;

-- name: IndexBuildProgress
SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total
FROM pg_stat_progress_create_index
WHERE pid = $1;
