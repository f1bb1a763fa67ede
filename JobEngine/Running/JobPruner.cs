using JobEngine.Sql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: finalized jobs are kept for inspection, but a table that only grows makes every
/// vacuum, backup and admin query slower. The history is partitioned by day: each tick creates the
/// coming days' partitions and drops those wholly past the retention period, which costs a catalog
/// change instead of a delete (and the dead rows) per job. Bookkeeping tables are pruned beside it.
/// </summary>
public sealed class JobPruner(NpgsqlDataSource dataSource, IOptions<JobWorkerOptions> options, TimeProvider time, ILogger<JobPruner> logger)
{
    /// <summary>Prunes until the token fires.</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(options.Value.PruneInterval, time, PruneAsync, logger, "Pruning finalized jobs failed", stoppingToken);

    /// <summary>Drops the finalized jobs past the retention period; returns how many.</summary>
    public async Task<long> PruneAsync(CancellationToken cancellationToken)
    {
        long dropped;
        var maintain = dataSource.CreateCommand(JobSql.MaintainJobHistory);
        await using (maintain.ConfigureAwait(false))
        {
            maintain.Parameters.Add(new() { Value = options.Value.RetentionPeriod.TotalSeconds });
            dropped = (long)(await maintain.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        if (dropped > 0)
        {
            logger.LogInformation("Pruned {Count} finalized jobs older than {Retention}.", dropped, options.Value.RetentionPeriod);
        }

        // Bookkeeping: rate-limit starts past their window, schedule runs past a week, finished-per-minute counts past a day.
        foreach (var sql in (string[])[QueueLimitSql.PruneQueueStarts, ScheduleSql.PruneScheduleRuns, JobSql.PruneFinishedMinutes])
        {
            var command = dataSource.CreateCommand(sql);
            await using var commandScope = command.ConfigureAwait(false);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return dropped;
    }
}
