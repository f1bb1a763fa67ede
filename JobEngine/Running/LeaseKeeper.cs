using JobEngine.Sql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: leases are short so a dead worker's jobs come back quickly, which means a live
/// worker must renew them, or a long job would be rescued and run twice just for being long. Every
/// third of a lease it renews all held jobs in one statement. A job it could not renew was rescued
/// by someone else: its handler is stopped. A job flagged for cancellation has its handler cancelled
/// here too, in case the cancel notification was missed. The same round trip records the worker's
/// heartbeat, which tells every rescuer this worker's leases are looked after.
/// </summary>
public sealed class LeaseKeeper(NpgsqlDataSource dataSource, RunningJobs runningJobs, IOptions<JobWorkerOptions> options, TimeProvider time, ILogger<LeaseKeeper> logger)
{
    /// <summary>Renews leases until the token fires.</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(options.Value.LeaseDuration / 3, time, RenewAsync, logger, "Renewing the leases of running jobs failed", stoppingToken);

    /// <summary>Renews every held lease once.</summary>
    public async Task RenewAsync(CancellationToken cancellationToken)
    {
        // A finished handler's row is the completer's to write: renewing it too would only make the
        // two statements lock the same rows (and deadlock); its outcome lands within milliseconds.
        var held = runningJobs.Snapshot().Where(j => !j.HandlerDone).OrderBy(j => j.Id).ToList();
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection);
        await using var batchScope = batch.ConfigureAwait(false);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(JobSql.DisableNestedLoopsForThisTransaction));
        var extend = new NpgsqlBatchCommand(JobSql.ExtendLeases);
        extend.Parameters.Add(new() { Value = held.Select(j => j.Id).ToArray() });
        extend.Parameters.Add(new() { Value = held.Select(j => (short)j.Attempt).ToArray() });
        extend.Parameters.Add(new() { Value = options.Value.LeaseDuration.TotalMilliseconds });
        batch.BatchCommands.Add(extend);
        batch.BatchCommands.Add(RecordHeartbeat(options.Value));
        var renewed = new Dictionary<long, bool>();
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                renewed[reader.GetInt64(reader.GetOrdinal("id"))] = reader.GetBoolean(reader.GetOrdinal("cancel_requested"));
            }
        }

        foreach (var job in held)
        {
            if (!renewed.TryGetValue(job.Id, out var cancelRequested))
            {
                // Not running under our attempt any more. Either its outcome landed meanwhile (it is
                // already gone from RunningJobs) or its lease expired and another worker has it.
                if (runningJobs.TryGet(job.Id, out var still) && still.Attempt == job.Attempt && still.Reason == StopReason.None)
                {
                    logger.LogWarning("Lost the lease of job {JobId} attempt {Attempt}; stopping its handler.", job.Id, job.Attempt);
                    job.Stop(StopReason.LeaseLost);
                }
            }
            else if (cancelRequested)
            {
                job.Stop(StopReason.CancelRequested);
            }
        }
    }

    /// <summary>The statement that says this worker is alive, serving its queues, with its lease.</summary>
    internal static NpgsqlBatchCommand RecordHeartbeat(JobWorkerOptions settings)
    {
        var heartbeat = new NpgsqlBatchCommand(WorkerSql.RecordWorkerHeartbeat);
        heartbeat.Parameters.Add(new() { Value = settings.WorkerId });
        heartbeat.Parameters.Add(new() { Value = settings.Queues.Keys.Order(StringComparer.Ordinal).ToArray() });
        heartbeat.Parameters.Add(new() { Value = (long)settings.LeaseDuration.TotalMilliseconds });
        return heartbeat;
    }
}
