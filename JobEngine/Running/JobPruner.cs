using JobEngine.Sql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: finalized jobs are kept for inspection, but a table that only grows makes every
/// vacuum, backup and admin query slower. The history is partitioned by day: each tick creates the
/// coming days' partitions and drops those wholly past the retention period, which costs a catalog
/// change instead of a delete (and the dead rows) per job. A workflow's record goes once none of
/// its steps is kept anywhere, a batch's once its callback is not. Bookkeeping tables are pruned beside it.
/// </summary>
public sealed class JobPruner(NpgsqlDataSource dataSource, IOptions<JobWorkerOptions> options, TimeProvider time, ILogger<JobPruner> logger)
{
    // Workflows or batches deleted per statement: a short transaction, repeated while one comes back full.
    private const int RecordsPerStatement = 500;

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

        var workflows = await PruneRecordsAsync(JobSql.PruneWorkflows, cancellationToken).ConfigureAwait(false);
        var batches = await PruneRecordsAsync(JobSql.PruneBatches, cancellationToken).ConfigureAwait(false);
        if (workflows + batches > 0)
        {
            logger.LogInformation("Pruned {Workflows} workflows none of whose steps is kept any more and {Batches} batches whose callback is not.", workflows, batches);
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

    // Runs a prune statement (retention in seconds, records per statement) until it deletes fewer than it may.
    private async Task<long> PruneRecordsAsync(string sql, CancellationToken cancellationToken)
    {
        long pruned = 0;
        int deleted;
        do
        {
            var command = dataSource.CreateCommand(sql);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new() { Value = options.Value.RetentionPeriod.TotalSeconds });
            command.Parameters.Add(new() { Value = RecordsPerStatement });
            deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            pruned += deleted;
        }
        while (deleted == RecordsPerStatement);

        return pruned;
    }
}
