using Api.Auth;
using JobEngine.Scheduling;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>
/// Queue settings for operators and the admin page: the limits every Worker enforces
/// (<c>MaxRunning</c>, rate), which the Workers write from their configuration when they start.
/// Counts and throughput per queue are in <c>GET /stats</c>.
/// </summary>
public static class QueuesApi
{
    /// <summary>Maps <c>GET /queues/limits</c>.</summary>
    public static IEndpointRouteBuilder MapQueuesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/queues/limits", ListQueueLimits).RequireAuthorization(ApiScopes.Admin).WithTags("Queues")
            .WithSummary("Every queue with a concurrency cap or a rate limit, as the Workers configured it");
        return app;
    }

    /// <summary><c>GET /queues/limits</c>.</summary>
    public static async Task<Ok<IReadOnlyList<QueueLimitInfo>>> ListQueueLimits(ScheduleClient schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return TypedResults.Ok(await schedules.ListQueueLimitsAsync(cancellationToken));
    }
}
