using Migrator;
using Npgsql;

namespace JobEngine.Tests;

public sealed class MigratorTests : IAsyncLifetime
{
    private readonly TestDatabase _db = new();

    public Task InitializeAsync() => _db.InitializeAsync();

    public Task DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task Status_lists_every_migration_applied_and_every_index_valid()
    {
        var (code, output) = await _db.MigrateAsync("status");

        Assert.Equal(0, code);
        Assert.Matches(@"0001 create_job_tables\s+applied", output);
        Assert.Matches(@"0002 index_jobs_for_admin_listing\s+applied", output);
        Assert.Matches(@"job\.job_claim_idx\s+valid", output);
        Assert.DoesNotContain("INVALID", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_apply_changes_nothing_and_a_dry_run_prints_the_plan_without_applying()
    {
        Assert.Equal((0, ""), await _db.MigrateAsync("apply"));
        Assert.Equal((0, ""), await _db.MigrateAsync("rollback", "1"));

        var (code, plan) = await _db.MigrateAsync("apply", "--dry-run");

        Assert.Equal(0, code);
        Assert.Contains("Would apply 0002 index_jobs_for_admin_listing", plan, StringComparison.Ordinal);
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE indexname = 'job_state_id_idx'"));
        Assert.Equal(0, (await _db.MigrateAsync("apply")).ExitCode);
        // Rebuilt by migration 2, then dropped by migration 10 as it moves the listing to the history.
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE indexname = 'job_state_id_idx'"));
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE indexname = 'job_history_state_id_not_completed_idx'"));
    }

    [Fact]
    public async Task Rollback_to_zero_removes_the_schema_and_apply_brings_it_back()
    {
        Assert.Equal(0, (await _db.MigrateAsync("rollback", "0")).ExitCode);
        Assert.False(await _db.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'jobs')"));

        Assert.Equal(0, (await _db.MigrateAsync("apply")).ExitCode);
        Assert.True(await _db.ScalarAsync<bool>("SELECT to_regclass('jobs.job') IS NOT NULL"));
    }

    [Fact]
    public async Task A_changed_applied_migration_is_refused_with_a_message()
    {
        await _db.ExecuteAsync("UPDATE jobs_migrations.applied_migration SET checksum = 'edited' WHERE version = 1");

        var (code, output) = await _db.MigrateAsync("apply");

        Assert.Equal(1, code);
        Assert.Contains("changed since they ran: 0001 create_job_tables", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_interrupted_concurrent_index_build_leaves_an_invalid_index_that_the_next_run_rebuilds()
    {
        Assert.Equal(0, (await _db.MigrateAsync("rollback", "1")).ExitCode);

        // An open writing transaction makes CREATE INDEX CONCURRENTLY wait after it has created
        // the (still invalid) index; the Migrator's lock_timeout then interrupts the build.
        await ApplyStoppedByLockTimeoutAsync(
            "INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at) VALUES ('available', 'x', 'x', '{}', 5, 1, now())",
            System.Data.IsolationLevel.ReadCommitted);

        Assert.Contains("INVALID", (await _db.MigrateAsync("status")).Output, StringComparison.Ordinal);
        Assert.Contains("Would drop invalid index jobs.job_state_id_idx", (await _db.MigrateAsync("plan")).Output, StringComparison.Ordinal);

        Assert.Equal(0, (await _db.MigrateAsync("apply")).ExitCode);

        Assert.Equal(0L, await _db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'jobs' AND NOT i.indisvalid"));
        // Rebuilt by migration 2, then dropped by migration 10 as it moves the listing to the history.
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE indexname = 'job_state_id_idx'"));
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE indexname = 'job_history_state_id_not_completed_idx'"));
    }

    // Migration 26 builds a partitioned index one partition at a time (PostgreSQL cannot build one
    // CONCURRENTLY): a run stopped halfway leaves the parent invalid and one partition's index
    // invalid, and the next run rebuilds that one and attaches the rest instead of starting over.
    [Fact]
    public async Task An_interrupted_build_of_the_history_state_index_is_finished_by_the_next_run()
    {
        Assert.Equal(0, (await _db.MigrateAsync("rollback", "25")).ExitCode);

        // A transaction holding an older snapshot makes each partition's concurrent build wait at
        // its end; the Migrator's lock_timeout then stops the first one, its index left invalid.
        await ApplyStoppedByLockTimeoutAsync("SELECT count(*) FROM jobs.job_count", System.Data.IsolationLevel.RepeatableRead);

        var halfway = string.Join('\n', await StateIndexesAsync());
        Assert.Contains("job_history_state_id_not_completed_idx false", halfway, StringComparison.Ordinal);
        Assert.Matches(@"job_history_\d{8}_state_id_idx false \(state <> 'completed'::jobs\.job_state\) unattached", halfway);
        Assert.Contains("Would rebuild invalid index jobs.job_history_", (await _db.MigrateAsync("plan")).Output, StringComparison.Ordinal);

        Assert.Equal(0, (await _db.MigrateAsync("apply")).ExitCode);

        // A partition the pruner creates from now on gets the partial index from the parent.
        await _db.ExecuteAsync("CREATE TABLE jobs.job_history_20991231 PARTITION OF jobs.job_history FOR VALUES FROM ('2099-12-31') TO ('2100-01-01')");
        var lines = await StateIndexesAsync();
        var partitions = await _db.ScalarAsync<long>("SELECT count(*) FROM pg_inherits WHERE inhparent = 'jobs.job_history'::regclass");
        Assert.Equal(partitions + 1, lines.Length);
        Assert.Contains("job_history_state_id_not_completed_idx true (state <> 'completed'::jobs.job_state) unattached", lines);
        Assert.All(lines.Where(l => !l.StartsWith("job_history_state_id_not_completed_idx ", StringComparison.Ordinal)),
            line => Assert.Matches(@"^job_history_(\d{8}|default)_state_id_idx true \(state <> 'completed'::jobs\.job_state\) jobs\.job_history_state_id_not_completed_idx$", line));
        Assert.DoesNotContain("INVALID", (await _db.MigrateAsync("status")).Output, StringComparison.Ordinal);
    }

    // Runs sql in a transaction left open while the Migrator applies with a short lock_timeout: the
    // apply fails on the timeout, and the transaction is then rolled back.
    private async Task ApplyStoppedByLockTimeoutAsync(string sql, System.Data.IsolationLevel isolation)
    {
        await using var connection = await _db.Owner.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync(isolation);
        await using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        var (failedCode, failedOutput) = await _db.MigrateAsync(new MigratorOptions { AppRolePassword = TestDatabase.AppRolePassword, LockTimeout = TimeSpan.FromMilliseconds(300) }, "apply");
        Assert.Equal(1, failedCode);
        Assert.Contains("lock timeout", failedOutput, StringComparison.OrdinalIgnoreCase);
        await transaction.RollbackAsync();
    }

    // Each (state, id) index of the history: name, validity, predicate and the index it is attached to.
    private async Task<string[]> StateIndexesAsync()
    {
        await using var command = _db.Owner.CreateCommand("""
            SELECT c.relname || ' ' || i.indisvalid || ' ' || coalesce(pg_get_expr(i.indpred, i.indrelid), 'all rows')
                   || ' ' || coalesce((SELECT p.inhparent::regclass::text FROM pg_inherits AS p WHERE p.inhrelid = c.oid), 'unattached')
            FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
            WHERE c.relname LIKE 'job_history%state_id%'
            ORDER BY c.relname
            """);
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return [.. lines];
    }

    // The services' role is one row of the cluster's catalog, created or set by the Migrator of every
    // database: Migrators of several databases starting together (the test assemblies' fixtures do,
    // on CI's new cluster where the role does not exist yet) must all end with the role and their
    // tables, not one of them with "tuple concurrently updated" or "role already exists" and no schema.
    [Fact]
    public async Task Migrators_of_several_databases_on_one_cluster_create_and_set_the_services_role_at_once()
    {
        var databases = Enumerable.Range(0, 6).Select(_ => new TestDatabase()).ToList();
        var newRole = "jobs_app_" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await Task.WhenAll(databases.Select(d => d.InitializeAsync()));
            var newRoleRuns = await Task.WhenAll(databases.Select(d => d.MigrateAsync(new MigratorOptions { AppRole = newRole, AppRolePassword = TestDatabase.AppRolePassword }, "apply")));

            Assert.All(newRoleRuns, run => Assert.Equal((0, ""), run));
            foreach (var database in databases)
            {
                Assert.Equal(0L, await database.ScalarAsync<long>("SELECT count(*) FROM jobs.job"));
                await using var newRoleConnection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.AppConnectionString) { Username = newRole }.ConnectionString);
                await newRoleConnection.OpenAsync();
            }
        }
        finally
        {
            await Task.WhenAll(databases.Select(d => d.DisposeAsync()));
            await using var owner = NpgsqlDataSource.Create(TestDatabase.Env("JOBS_OWNER_CONNECTION"));
            await using var drop = owner.CreateCommand($"DROP ROLE IF EXISTS {newRole}");
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task A_bad_command_line_prints_usage_and_exits_2()
    {
        var (code, output) = await _db.MigrateAsync("rollback", "two");
        Assert.Equal(2, code);
        Assert.Contains(MigratorCommand.Usage, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CREATE TABLE jobs.evil (id int)")]
    [InlineData("DROP TABLE jobs.job")]
    [InlineData("ALTER TABLE jobs.job ADD COLUMN evil int")]
    [InlineData("CREATE INDEX evil_idx ON jobs.job (kind)")]
    [InlineData("TRUNCATE jobs.job")]
    [InlineData("CREATE TABLE public.evil (id int)")]
    [InlineData("SELECT * FROM jobs_migrations.applied_migration")]
    [InlineData("CREATE ROLE evil")]
    [InlineData("DROP SCHEMA jobs CASCADE")]
    [InlineData("CREATE SCHEMA evil")]
    [InlineData("ALTER TYPE jobs.job_state ADD VALUE 'evil'")]
    [InlineData("CREATE FUNCTION jobs.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'")]
    [InlineData("DROP FUNCTION jobs.notify_jobs_inserted()")]
    [InlineData("ALTER TABLE jobs.job DISABLE TRIGGER ALL")]
    [InlineData("ALTER ROLE jobs_app CREATEDB")]
    [InlineData("GRANT jobs_owner TO jobs_app")]
    [InlineData("SELECT pg_read_file('/etc/hostname')")]
    [InlineData("COPY jobs.job TO PROGRAM 'cat'")]
    public async Task The_services_role_is_refused_ddl_grants_and_the_migration_history(string sql)
    {
        await using var command = _db.App.CreateCommand(sql);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Fact]
    public async Task The_services_role_cannot_grant_what_it_has()
    {
        await using (var command = _db.App.CreateCommand("GRANT SELECT ON jobs.job TO PUBLIC"))
        {
            // PostgreSQL only warns ("no privileges were granted"); what counts is that nothing changed.
            await command.ExecuteNonQueryAsync();
        }

        Assert.False(await _db.ScalarAsync<bool>("SELECT has_table_privilege('public', 'jobs.job', 'SELECT')"));
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' AND table_schema = 'jobs'"));
    }

    [Fact]
    public async Task The_services_role_cannot_read_tables_outside_the_job_schema()
    {
        await _db.ExecuteAsync("CREATE TABLE public.customer_secret (card text); INSERT INTO public.customer_secret VALUES ('4111 1111 1111 1111')");
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM public.customer_secret"));

        foreach (var sql in new[] { "SELECT * FROM public.customer_secret", "SELECT * FROM pg_catalog.pg_authid" })
        {
            await using var command = _db.App.CreateCommand(sql);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }
    }
}
