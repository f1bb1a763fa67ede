-- Purpose: database health for operators (top statements, index usage, dead tuples and vacuum,
--   the xmin horizon, long transactions, connections per application), readable by the services'
--   role without giving it the statistics roles.
-- Owner: the Migrator. The functions run as their owner (SECURITY DEFINER, fixed search_path)
--   and return only statistics, never rows of any table.
-- Expects: migration 1. Best with pg_stat_statements installed in the database (top statements
--   are empty without it) and an owner that can read all statistics (pg_read_all_stats), or
--   other sessions' transactions show without their details.
-- Result: six functions in schema jobs, executable by jobs_app only (EXECUTE revoked from PUBLIC).
-- Rollback: drops the six functions; /db/health and the admin Database view stop working.
-- Transaction: yes

-- migrate:up
CREATE FUNCTION jobs.db_top_statements(p_limit integer)
    RETURNS TABLE (query text, calls bigint, total_ms double precision, mean_ms double precision, rows bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    view_schema name;
BEGIN
    SELECT n.nspname INTO view_schema
    FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements';
    IF view_schema IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT left(s.query, 500), s.calls, s.total_exec_time, s.mean_exec_time, s.rows
         FROM %I.pg_stat_statements AS s
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND s.query ILIKE ''%%jobs.%%''
         ORDER BY s.total_exec_time DESC
         LIMIT $1', view_schema) USING p_limit;
END
$$;

CREATE FUNCTION jobs.db_index_usage()
    RETURNS TABLE (index_name name, table_name name, scans bigint, size_bytes bigint, is_valid boolean, is_unique boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT c.relname, t.relname, coalesce(s.idx_scan, 0), pg_relation_size(c.oid), i.indisvalid, i.indisunique
    FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_indexes AS s ON s.indexrelid = i.indexrelid
    WHERE n.nspname = 'jobs'
    ORDER BY t.relname, c.relname
$$;

CREATE FUNCTION jobs.db_table_health()
    RETURNS TABLE (table_name name, live_tuples bigint, dead_tuples bigint, size_bytes bigint,
                   last_vacuum timestamptz, last_autovacuum timestamptz, last_analyze timestamptz, last_autoanalyze timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT s.relname, s.n_live_tup, s.n_dead_tup, pg_total_relation_size(s.relid),
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
    FROM pg_stat_user_tables AS s
    WHERE s.schemaname = 'jobs'
    ORDER BY s.relname
$$;

-- The oldest snapshot any session holds in this database: vacuum cannot remove a dead row newer than it.
CREATE FUNCTION jobs.db_xmin_horizon()
    RETURNS TABLE (pid integer, application_name text, state text, xmin_age_xids integer, transaction_age_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT a.pid, a.application_name, a.state, age(a.backend_xmin),
           extract(epoch FROM now() - a.xact_start)::double precision
    FROM pg_stat_activity AS a
    WHERE a.backend_xmin IS NOT NULL
      AND a.datname = current_database()
      AND a.pid <> pg_backend_pid()
    ORDER BY age(a.backend_xmin) DESC
    LIMIT 1
$$;

CREATE FUNCTION jobs.db_long_transactions(p_min_age_seconds double precision)
    RETURNS TABLE (pid integer, application_name text, state text, transaction_age_seconds double precision, query text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT a.pid, a.application_name, a.state, extract(epoch FROM now() - a.xact_start)::double precision, left(a.query, 200)
    FROM pg_stat_activity AS a
    WHERE a.xact_start IS NOT NULL
      AND a.datname = current_database()
      AND a.pid <> pg_backend_pid()
      AND now() - a.xact_start > p_min_age_seconds * interval '1 second'
    ORDER BY a.xact_start
$$;

CREATE FUNCTION jobs.db_connections()
    RETURNS TABLE (application_name text, state text, connections bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT coalesce(nullif(a.application_name, ''), '(none)'), coalesce(a.state, '(background)'), count(*)
    FROM pg_stat_activity AS a
    WHERE a.datname = current_database()
    GROUP BY 1, 2
    ORDER BY 3 DESC
$$;

REVOKE EXECUTE ON FUNCTION jobs.db_top_statements(integer), jobs.db_index_usage(), jobs.db_table_health(),
    jobs.db_xmin_horizon(), jobs.db_long_transactions(double precision), jobs.db_connections() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jobs.db_top_statements(integer), jobs.db_index_usage(), jobs.db_table_health(),
    jobs.db_xmin_horizon(), jobs.db_long_transactions(double precision), jobs.db_connections() TO jobs_app;

-- migrate:down
DROP FUNCTION jobs.db_connections();
DROP FUNCTION jobs.db_long_transactions(double precision);
DROP FUNCTION jobs.db_xmin_horizon();
DROP FUNCTION jobs.db_table_health();
DROP FUNCTION jobs.db_index_usage();
DROP FUNCTION jobs.db_top_statements(integer);
