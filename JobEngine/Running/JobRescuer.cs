using JobEngine.Sql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: a worker killed with SIGKILL, frozen or cut off leaves jobs in <c>running</c>
/// forever unless someone notices. Every worker looks for expired leases on a short timer and
/// puts those jobs back (or discards them on their last attempt). No leader is needed: the query
/// skips rows another rescuer holds, so any number of workers can run it at once.
/// </summary>
public sealed class JobRescuer(NpgsqlDataSource dataSource, IOptions<JobWorkerOptions> options, TimeProvider time, ILogger<JobRescuer> logger)
{
    private const int BatchSize = 1000;

    /// <summary>Rescues until the token fires.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RescueInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await RescueExpiredAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(e, "Looking for expired leases failed; trying again next tick.");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Rescues every job whose lease has expired; returns how many.</summary>
    public async Task<long> RescueExpiredAsync(CancellationToken cancellationToken)
    {
        long total = 0;
        long rescued;
        do
        {
            await using var command = dataSource.CreateCommand(JobSql.RescueExpiredJobs);
            command.Parameters.Add(new() { Value = BatchSize });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            rescued = reader.GetInt64(0);
            total += rescued;
        }
        while (rescued == BatchSize);

        if (total > 0)
        {
            logger.LogWarning("Rescued {Count} jobs whose worker stopped renewing their lease.", total);
        }

        return total;
    }
}
