using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Migrator;

// An index build on a big table takes minutes with nothing to show for it: a migration's
// CREATE INDEX CONCURRENTLY and the repair's REINDEX both run through here, which reports the
// build's phase and percent from pg_stat_progress_create_index, read on a second connection.
internal sealed partial class IndexBuildProgress(NpgsqlDataSource dataSource, IOptions<MigratorOptions> options, ILogger logger)
{
    public async Task ExecuteAsync(NpgsqlConnection connection, string statement, CancellationToken cancellationToken)
    {
        var indexBuild = IndexBuild().Match(statement);
        using var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = indexBuild.Success
            ? ReportAsync(connection.ProcessID, indexBuild.Groups[1].Success ? indexBuild.Groups[1].Value : indexBuild.Groups[2].Value, stopProgress.Token)
            : Task.CompletedTask;
        try
        {
            await using var command = new NpgsqlCommand(statement, connection) { CommandTimeout = 0 };
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stopProgress.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);
        }
    }

    private async Task ReportAsync(int buildPid, string index, CancellationToken cancellationToken)
    {
        try
        {
            await using var monitor = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(options.Value.ProgressInterval);
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await using var command = new NpgsqlCommand(MigratorSql.Get("IndexBuildProgress"), monitor);
                command.Parameters.Add(new() { Value = buildPid });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var (phase, blocksDone, blocksTotal, tuplesDone, tuplesTotal) = (
                        reader.GetOrdinal("phase"), reader.GetOrdinal("blocks_done"), reader.GetOrdinal("blocks_total"), reader.GetOrdinal("tuples_done"),
                        reader.GetOrdinal("tuples_total"));
                    var (done, total) = reader.GetInt64(blocksTotal) > 0
                        ? (reader.GetInt64(blocksDone), reader.GetInt64(blocksTotal))
                        : (reader.GetInt64(tuplesDone), reader.GetInt64(tuplesTotal));
                    var percent = total > 0 ? 100.0 * done / total : 0;
                    logger.LogInformation("Index {Index}: {Phase}, {Percent:F0}% ({Done} of {Total}).", index, reader.GetString(phase), percent, done, total);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The build finished.
        }
        catch (NpgsqlException e)
        {
            logger.LogWarning(e, "Could not read the progress of index {Index}; the build goes on.", index);
        }
    }

    [GeneratedRegex(@"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)|REINDEX\s+INDEX\s+CONCURRENTLY\s+jobs\.""?(\w+)", RegexOptions.IgnoreCase)]
    private static partial Regex IndexBuild();
}
