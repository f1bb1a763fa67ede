using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: the lease keeper, the rescuer and the pruner all do one database task on a
/// timer, and all must survive a database that is briefly away: a failed tick is logged and the
/// next one tries again, and only the stopping token ends the loop.
/// </summary>
internal static class PeriodicWork
{
    /// <summary>Runs <paramref name="work"/> every <paramref name="interval"/> until <paramref name="stoppingToken"/> fires.</summary>
    public static async Task RunAsync(TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> work, ILogger logger, string failure, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await work(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(e, "{Failure}; trying again next tick.", failure);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
