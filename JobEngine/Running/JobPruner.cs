using JobEngine.Sql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: finalized jobs are kept for inspection, but a table that only grows makes every
/// vacuum, backup and admin query slower. Past the retention period they are deleted in small
/// batches (each its own short transaction, skipping locked rows), so pruning never holds long locks
/// or a long transaction that would keep vacuum from cleaning up.
/// </summary>
public sealed class JobPruner(NpgsqlDataSource dataSource, IOptions<JobWorkerOptions> options, TimeProvider time, ILogger<JobPruner> logger)
{
    /// <summary>Prunes until the token fires.</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(options.Value.PruneInterval, time, PruneAsync, logger, "Pruning finalized jobs failed", stoppingToken);

    /// <summary>Deletes every finalized job older than the retention period; returns how many.</summary>
    public async Task<long> PruneAsync(CancellationToken cancellationToken)
    {
        long total = 0;
        int deleted;
        do
        {
            await using var command = dataSource.CreateCommand(JobSql.PruneFinalizedJobs);
            command.Parameters.Add(new() { Value = options.Value.RetentionPeriod.TotalSeconds });
            command.Parameters.Add(new() { Value = options.Value.PruneBatchSize });
            deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += deleted;
        }
        while (deleted == options.Value.PruneBatchSize);

        if (total > 0)
        {
            logger.LogInformation("Pruned {Count} finalized jobs older than {Retention}.", total, options.Value.RetentionPeriod);
        }

        // Bookkeeping: rate-limit starts past their window, schedule runs past a week, finished-per-minute counts past a day.
        foreach (var sql in (string[])[QueueLimitSql.PruneQueueStarts, ScheduleSql.PruneScheduleRuns, JobSql.PruneFinishedMinutes])
        {
            await using var command = dataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return total;
    }
}
