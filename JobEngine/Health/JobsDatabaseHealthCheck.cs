using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Health;

/// <summary>
/// Degraded, never Unhealthy, when the oldest waiting job or the xmin horizon is older than its
/// threshold: both are database or capacity problems that restarting this process cannot fix,
/// so an orchestrator must not restart it for them.
/// </summary>
public sealed class JobsDatabaseHealthCheck(DatabaseHealthClient health, IOptions<DatabaseHealthOptions> options) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var (waiting, horizon) = await health.ReadWatchedAsync(cancellationToken).ConfigureAwait(false);
            var thresholds = options.Value;
            var problems = new List<string>();
            if (waiting > thresholds.MaxWaitingJobAge.TotalSeconds)
            {
                problems.Add($"the oldest waiting job has waited {waiting:F0} s (threshold {thresholds.MaxWaitingJobAge.TotalSeconds:F0} s): workers do not keep up");
            }

            if (horizon?.TransactionAgeSeconds > thresholds.MaxXminHorizonAge.TotalSeconds)
            {
                problems.Add($"a transaction of '{horizon.ApplicationName}' (pid {horizon.Pid}) has held back vacuum for {horizon.TransactionAgeSeconds:F0} s (threshold {thresholds.MaxXminHorizonAge.TotalSeconds:F0} s)");
            }

            var data = new Dictionary<string, object>
            {
                ["oldestWaitingJobSeconds"] = waiting ?? 0,
                ["xminHorizonSeconds"] = horizon?.TransactionAgeSeconds ?? 0,
            };
            return problems.Count == 0
                ? HealthCheckResult.Healthy("job queue and vacuum horizon within thresholds", data)
                : HealthCheckResult.Degraded(string.Join("; ", problems), data: data);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // Reachability is the PostgreSQL check's business; this one only judges the figures.
            return HealthCheckResult.Degraded("database health figures could not be read: " + e.Message);
        }
    }
}
