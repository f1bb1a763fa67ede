using JobEngine.Running;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobEngine.Health;

/// <summary>
/// Unhealthy until the worker has registered (it waits for the database at start and claims
/// nothing before): a readiness probe, or a test, that waits for a healthy Worker then finds its
/// kinds accepted by the Api.
/// </summary>
public sealed class WorkerRegistrationHealthCheck(WorkerRegistration registration) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(registration.IsRegistered
            ? HealthCheckResult.Healthy("kinds and heartbeat registered; claiming")
            : HealthCheckResult.Unhealthy("registering kinds and queue limits in the database; nothing is claimed yet"));
}
