-- The adapter's own queries: start-up checks only, run as the database owner (the URL's user).

-- name: MissingRelations
-- The manifest's tables and indexes ($1, schema-qualified) that do not exist.
SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL;

-- name: SchemaVersion
-- The newest migration the Migrator applied.
SELECT coalesce(max(version), 0) FROM jobs_migrations.applied_migration;
