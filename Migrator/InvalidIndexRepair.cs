using Npgsql;

namespace Migrator;

// A concurrent build that failed leaves an invalid index (pg_index.indisvalid = false) that is
// maintained on every write but never used, and no later migration notices it. One a pending
// migration creates is dropped so the migration builds it again; any other is rebuilt in place.
internal sealed class InvalidIndexRepair(IndexBuildProgress indexBuilds, ILogger logger)
{
    public static async Task<IReadOnlyList<string>> FindAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(MigratorSql.Get("SelectInvalidIndexes"), connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        var indexName = reader.GetOrdinal("index_name");
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(indexName));
        }

        return names;
    }

    public static bool IsRebuiltByMigration(string index, IEnumerable<Migration> pending) =>
        pending.Any(m => m.Up.Contains(index, StringComparison.Ordinal));

    public async Task RepairAsync(NpgsqlConnection connection, IReadOnlyList<string> invalid, IReadOnlyList<Migration> pending, CancellationToken cancellationToken)
    {
        foreach (var index in invalid)
        {
            var rebuiltByMigration = IsRebuiltByMigration(index, pending);
            logger.LogWarning(rebuiltByMigration
                ? "Index jobs.{Index} is invalid (an interrupted concurrent build); dropping it so its migration builds it again."
                : "Index jobs.{Index} is invalid; rebuilding it concurrently.", index);
            var repair = await MigratorSql.ScalarAsync<string>(connection, rebuiltByMigration ? "DropIndexStatement" : "ReindexStatement", cancellationToken, index).ConfigureAwait(false);
            await indexBuilds.ExecuteAsync(connection, repair, cancellationToken).ConfigureAwait(false);
        }
    }
}
