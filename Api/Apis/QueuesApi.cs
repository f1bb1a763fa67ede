using System.Security.Claims;
using Api.Auth;
using Api.Http;
using Api.Jobs;
using JobEngine;
using JobEngine.Queues;
using JobEngine.Scheduling;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>
/// Queues for operators and the admin page: which live Workers serve each one, whether it is
/// paused (pause and resume, across every Worker), and the limits every Worker enforces
/// (<c>MaxRunning</c>, rate), which the Workers write from their configuration when they start.
/// Counts, throughput and latency per queue are in <c>GET /stats</c>.
/// </summary>
public static class QueuesApi
{
    /// <summary>Maps <c>GET /queues</c>, <c>GET /queues/limits</c> and <c>POST /queues/{name}/pause</c> and <c>/resume</c>.</summary>
    public static IEndpointRouteBuilder MapQueuesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/queues", ListQueues).RequireAuthorization(ApiScopes.Admin).WithTags("Queues")
            .WithSummary("Every queue that holds jobs or that a live Worker serves, with how many live Workers serve it");
        app.MapGet("/queues/limits", ListQueueLimits).RequireAuthorization(ApiScopes.Admin).WithTags("Queues")
            .WithSummary("Every queue with a concurrency cap or a rate limit, as the Workers configured it");
        app.MapPost("/queues/{name}/pause", PauseQueue).RequireAuthorization(ApiScopes.Admin).WithTags("Queues")
            .WithSummary("Stop every Worker from claiming the queue's jobs; jobs sent to it are kept and wait (idempotent)");
        app.MapPost("/queues/{name}/resume", ResumeQueue).RequireAuthorization(ApiScopes.Admin).WithTags("Queues")
            .WithSummary("Let the Workers claim the queue's jobs again, at once (idempotent)");
        return app;
    }

    /// <summary><c>GET /queues</c>: read fresh, not cached, so a stopped Worker is gone from it once its lease runs out.</summary>
    public static async Task<Ok<IReadOnlyList<QueueWorkers>>> ListQueues(ServedQueues queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queues);
        return TypedResults.Ok(await queues.ListAsync(cancellationToken));
    }

    /// <summary><c>POST /queues/{name}/pause</c>: 200 with the queue's pause state; a second call changes nothing.</summary>
    public static async Task<Results<Ok<QueuePauseView>, ProblemHttpResult>> PauseQueue(string name, ClaimsPrincipal user, QueuePauses pauses, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pauses);
        ArgumentNullException.ThrowIfNull(user);
        if (!NewJob.IsValidQueue(name))
        {
            return InvalidQueueName();
        }

        var changed = await pauses.PauseAsync(name, user.Identity?.Name, cancellationToken);
        return TypedResults.Ok(new QueuePauseView(name, Paused: true, Changed: changed));
    }

    /// <summary><c>POST /queues/{name}/resume</c>: 200 with the queue's pause state; a second call changes nothing.</summary>
    public static async Task<Results<Ok<QueuePauseView>, ProblemHttpResult>> ResumeQueue(string name, QueuePauses pauses, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pauses);
        if (!NewJob.IsValidQueue(name))
        {
            return InvalidQueueName();
        }

        var changed = await pauses.ResumeAsync(name, cancellationToken);
        return TypedResults.Ok(new QueuePauseView(name, Paused: false, Changed: changed));
    }

    private static ProblemHttpResult InvalidQueueName() =>
        ApiProblem.Create(StatusCodes.Status400BadRequest, "Invalid queue name", "The queue name in the path is not one a job can carry.",
            "name", $"a non-empty queue name of at most {NewJob.MaxQueueLength} characters without control characters", retryable: false);

    /// <summary><c>GET /queues/limits</c>.</summary>
    public static async Task<Ok<IReadOnlyList<QueueLimitInfo>>> ListQueueLimits(ScheduleClient schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return TypedResults.Ok(await schedules.ListQueueLimitsAsync(cancellationToken));
    }
}

/// <summary>A queue's pause state after <c>POST /queues/{name}/pause</c> or <c>/resume</c>.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Paused">True when no Worker claims its jobs.</param>
/// <param name="Changed">False when the queue already was in that state (the call changed nothing).</param>
public sealed record QueuePauseView(string Queue, bool Paused, bool Changed);
