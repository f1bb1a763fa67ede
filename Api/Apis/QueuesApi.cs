using Api.Auth;
using Api.Jobs;
using JobEngine.Scheduling;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>
/// Queues for operators and the admin page: which live Workers serve each one, and the limits
/// every Worker enforces (<c>MaxRunning</c>, rate), which the Workers write from their
/// configuration when they start. Counts and throughput per queue are in <c>GET /stats</c>.
/// </summary>
public static class QueuesApi
{
    /// <summary>Maps <c>GET /queues</c> and <c>GET /queues/limits</c>.</summary>
    public static IEndpointRouteBuilder MapQueuesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/queues", ListQueues).RequireAuthorization(ApiScopes.Admin).WithTags("Queues")
            .WithSummary("Every queue that holds jobs or that a live Worker serves, with how many live Workers serve it");
        app.MapGet("/queues/limits", ListQueueLimits).RequireAuthorization(ApiScopes.Admin).WithTags("Queues")
            .WithSummary("Every queue with a concurrency cap or a rate limit, as the Workers configured it");
        return app;
    }

    /// <summary><c>GET /queues</c>: read fresh, not cached, so a stopped Worker is gone from it once its lease runs out.</summary>
    public static async Task<Ok<IReadOnlyList<QueueWorkers>>> ListQueues(ServedQueues queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queues);
        return TypedResults.Ok(await queues.ListAsync(cancellationToken));
    }

    /// <summary><c>GET /queues/limits</c>.</summary>
    public static async Task<Ok<IReadOnlyList<QueueLimitInfo>>> ListQueueLimits(ScheduleClient schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return TypedResults.Ok(await schedules.ListQueueLimitsAsync(cancellationToken));
    }
}
