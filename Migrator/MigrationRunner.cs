using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Migrator;

/// <summary>
/// Applies, reports and rolls back migrations under an advisory lock, so two Migrators never run
/// at once. It creates the services' role first, refuses to run when an applied file has changed,
/// and repairs indexes left invalid by an interrupted concurrent build before anything else.
/// </summary>
public sealed class MigrationRunner(
    NpgsqlDataSource dataSource,
    IReadOnlyList<Migration> migrations,
    IOptions<MigratorOptions> options,
    TextWriter output,
    ILogger<MigrationRunner> logger)
{
    private readonly AppRoleSetup _appRole = new(dataSource, options, logger);
    private readonly IndexBuildProgress _indexBuilds = new(dataSource, options, logger);

    /// <summary>Applies every pending migration; with <paramref name="dryRun"/> only prints what it would do.</summary>
    public Task ApplyAsync(bool dryRun, CancellationToken cancellationToken) =>
        WithMigrationLockAsync(connection => ApplyAsync(connection, dryRun, cancellationToken), cancellationToken);

    private async Task ApplyAsync(NpgsqlConnection connection, bool dryRun, CancellationToken cancellationToken)
    {
        var applied = await ReadAppliedAsync(connection, cancellationToken).ConfigureAwait(false);
        ThrowIfChanged(applied);
        var pending = migrations.Where(m => !applied.ContainsKey(m.Version)).ToList();
        var invalid = await InvalidIndexRepair.FindAsync(connection, cancellationToken).ConfigureAwait(false);

        if (dryRun)
        {
            PrintPlan(pending, invalid);
            return;
        }

        await _appRole.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await new InvalidIndexRepair(_indexBuilds, logger).RepairAsync(connection, invalid, pending, cancellationToken).ConfigureAwait(false);
        foreach (var migration in pending)
        {
            await RunAsync(connection, migration, migration.Up, up: true, cancellationToken).ConfigureAwait(false);
        }

        logger.LogInformation(pending.Count == 0 ? "Schema is up to date at version {Version}." : "Schema migrated to version {Version}.",
            migrations.Count == 0 ? 0 : migrations[^1].Version);
    }

    /// <summary>Runs the rollback of every applied migration above <paramref name="targetVersion"/>, newest first.</summary>
    public Task RollbackAsync(int targetVersion, CancellationToken cancellationToken) =>
        WithMigrationLockAsync(connection => RollbackAsync(connection, targetVersion, cancellationToken), cancellationToken);

    private async Task RollbackAsync(NpgsqlConnection connection, int targetVersion, CancellationToken cancellationToken)
    {
        var applied = await ReadAppliedAsync(connection, cancellationToken).ConfigureAwait(false);
        ThrowIfChanged(applied);
        foreach (var migration in migrations.Where(m => m.Version > targetVersion && applied.ContainsKey(m.Version)).OrderByDescending(m => m.Version))
        {
            await RunAsync(connection, migration, migration.Down, up: false, cancellationToken).ConfigureAwait(false);
        }

        logger.LogInformation("Schema rolled back to version {Version}.", targetVersion);
    }

    /// <summary>Prints each migration (applied, pending or changed) and each index with its validity, size and scans.</summary>
    public async Task PrintStatusAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var applied = await ReadAppliedAsync(connection, cancellationToken).ConfigureAwait(false);
        output.WriteLine("Migrations:");
        foreach (var migration in migrations)
        {
            var state = applied.TryGetValue(migration.Version, out var row)
                ? row.Checksum == migration.Checksum ? $"applied {row.AppliedAt:u}" : "CHANGED since applied"
                : "pending";
            output.WriteLine($"  {migration.Version:D4} {migration.Name,-40} {state}");
        }

        foreach (var orphan in applied.Keys.Except(migrations.Select(m => m.Version)))
        {
            output.WriteLine($"  {orphan:D4} {applied[orphan].Name,-40} applied, but no such file (newer Migrator?)");
        }

        output.WriteLine("Indexes (schema jobs):");
        await using var command = new NpgsqlCommand(MigratorSql.Get("SelectIndexes"), connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (index, table, isValid, sizeBytes, scans) = (
            reader.GetOrdinal("index_name"), reader.GetOrdinal("table_name"), reader.GetOrdinal("is_valid"), reader.GetOrdinal("size_bytes"), reader.GetOrdinal("scans"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var valid = reader.GetBoolean(isValid) ? "valid" : "INVALID";
            output.WriteLine($"  {reader.GetString(table)}.{reader.GetString(index),-32} {valid,-8} {reader.GetInt64(sizeBytes) / 1024.0,10:F0} kB {reader.GetInt64(scans),12} scans");
        }
    }

    // The lock is a session lock: it is released here explicitly, since a pooled connection
    // goes back to the pool still holding it.
    private async Task WithMigrationLockAsync(Func<NpgsqlConnection, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!await MigratorSql.ScalarAsync<bool>(connection, "TryLock", cancellationToken).ConfigureAwait(false))
        {
            logger.LogWarning("Another Migrator holds the migration lock; waiting for it to finish.");
            await MigratorSql.ScalarAsync<object>(connection, "WaitForLock", cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await MigratorSql.ScalarAsync<string>(connection, "SetLockTimeout", cancellationToken,
                $"{(int)options.Value.LockTimeout.TotalMilliseconds}ms").ConfigureAwait(false);
            await using (var history = new NpgsqlCommand(MigratorSql.Get("EnsureHistory"), connection))
            {
                await history.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await work(connection).ConfigureAwait(false);
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await MigratorSql.ScalarAsync<bool>(connection, "Unlock", CancellationToken.None).ConfigureAwait(false);
                await MigratorSql.ScalarAsync<string>(connection, "SetLockTimeout", CancellationToken.None, "0").ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync(NpgsqlConnection connection, Migration migration, string sql, bool up, CancellationToken cancellationToken)
    {
        var direction = up ? "Applying" : "Rolling back";
        logger.LogInformation("{Direction} migration {Version:D4} {Name}: {Purpose}", direction, migration.Version, migration.Name, migration.Purpose);
        var started = Stopwatch.GetTimestamp();
        if (migration.Transactional)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var command = new NpgsqlCommand(sql, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await RecordAsync(connection, transaction, migration, up, started, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (var statement in Migration.Statements(sql))
            {
                foreach (var step in await StepsAsync(connection, statement, cancellationToken).ConfigureAwait(false))
                {
                    await _indexBuilds.ExecuteAsync(connection, step, cancellationToken).ConfigureAwait(false);
                }
            }

            await RecordAsync(connection, null, migration, up, started, cancellationToken).ConfigureAwait(false);
        }

        logger.LogInformation("{Direction} migration {Version:D4} done in {Elapsed:F0} ms.", direction, migration.Version, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    // A query's statements are read when the migration reaches it, so they see what the statements
    // before it did (an index created ON ONLY a partitioned table, for its partitions to attach).
    private static async Task<IReadOnlyList<string>> StepsAsync(NpgsqlConnection connection, string statement, CancellationToken cancellationToken)
    {
        if (!Migration.ReturnsStatements(statement))
        {
            return [statement];
        }

        await using var command = new NpgsqlCommand(statement, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var column = reader.GetOrdinal("statement");
        var steps = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            steps.Add(reader.GetString(column));
        }

        return steps;
    }

    private static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Migration migration, bool up, long started, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(up ? MigratorSql.Get("InsertApplied") : MigratorSql.Get("DeleteApplied"), connection, transaction);
        command.Parameters.Add(new() { Value = migration.Version });
        if (up)
        {
            command.Parameters.Add(new() { Value = migration.Name });
            command.Parameters.Add(new() { Value = migration.Checksum });
            command.Parameters.Add(new() { Value = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private void PrintPlan(List<Migration> pending, IReadOnlyList<string> invalid)
    {
        output.WriteLine("Dry run: nothing is changed.");
        foreach (var index in invalid)
        {
            output.WriteLine(InvalidIndexRepair.IsRebuiltByMigration(index, pending) ? $"Would drop invalid index jobs.{index} for its migration to rebuild." : $"Would rebuild invalid index jobs.{index} concurrently.");
        }

        if (pending.Count == 0)
        {
            output.WriteLine("No pending migrations.");
        }

        foreach (var migration in pending)
        {
            output.WriteLine($"Would apply {migration.Version:D4} {migration.Name} ({(migration.Transactional ? "in one transaction" : "statement by statement, no transaction")}): {migration.Purpose}");
            output.WriteLine(migration.Up);
        }
    }

    private void ThrowIfChanged(Dictionary<int, AppliedMigration> applied)
    {
        var changed = migrations.Where(m => applied.TryGetValue(m.Version, out var row) && row.Checksum != m.Checksum).ToList();
        if (changed.Count > 0)
        {
            throw new MigrationException(
                $"Applied migration(s) changed since they ran: {string.Join(", ", changed.Select(m => $"{m.Version:D4} {m.Name}"))}. " +
                "Restore the original file(s) and put the change in a new migration.");
        }
    }

    private static async Task<Dictionary<int, AppliedMigration>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, AppliedMigration>();
        if (!await MigratorSql.ScalarAsync<bool>(connection, "HistoryExists", cancellationToken).ConfigureAwait(false))
        {
            return applied;
        }

        await using var command = new NpgsqlCommand(MigratorSql.Get("SelectApplied"), connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (version, name, checksum, appliedAt) = (reader.GetOrdinal("version"), reader.GetOrdinal("name"), reader.GetOrdinal("checksum"), reader.GetOrdinal("applied_at"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            applied[reader.GetInt32(version)] = new AppliedMigration(reader.GetString(name), reader.GetString(checksum), reader.GetFieldValue<DateTimeOffset>(appliedAt));
        }

        return applied;
    }

    private sealed record AppliedMigration(string Name, string Checksum, DateTimeOffset AppliedAt);
}

/// <summary>A migration cannot run; the message says what failed and what to do.</summary>
public sealed class MigrationException(string message) : Exception(message);
