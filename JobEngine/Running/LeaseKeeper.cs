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
/// here too, in case the cancel notification was missed.
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
        if (held.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand(JobSql.ExtendLeases);
        command.Parameters.Add(new() { Value = held.Select(j => j.Id).ToArray() });
        command.Parameters.Add(new() { Value = held.Select(j => (short)j.Attempt).ToArray() });
        command.Parameters.Add(new() { Value = options.Value.LeaseDuration.TotalMilliseconds });
        var renewed = new Dictionary<long, bool>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                renewed[reader.GetInt64(0)] = reader.GetBoolean(1);
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
}
