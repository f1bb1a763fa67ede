using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: the lease keeper, the rescuer, the pruner, the scheduler and the queue-depth
/// gauge all do one database task on a timer, and all must survive a database that is briefly
/// away: a failed tick is logged and the next one tries again, and only the stopping token ends
/// the loop.
/// </summary>
internal static class PeriodicWork
{
    /// <summary>
    /// Runs <paramref name="work"/> every <paramref name="interval"/> until <paramref name="stoppingToken"/>
    /// fires; at once and then every interval when <paramref name="runAtStart"/> (a figure or a
    /// schedule that should not wait one interval after start).
    /// </summary>
    public static async Task RunAsync(TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> work, ILogger logger, string failure, CancellationToken stoppingToken, bool runAtStart = false)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            var due = runAtStart;
            while (due || await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                due = false;
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
