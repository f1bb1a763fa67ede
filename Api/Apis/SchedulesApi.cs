using Api.Auth;
using Api.Http;
using JobEngine.Scheduling;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>Recurring jobs for operators: list them with their next run, pause, resume or run one now (admin scope).</summary>
public static class SchedulesApi
{
    /// <summary>Maps the <c>/schedules</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapSchedulesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/schedules").WithTags("Schedules").RequireAuthorization(ApiScopes.Admin);
        api.MapGet("", ListSchedules).WithSummary("Every schedule with its cron expression, time zone, next run and last run");
        api.MapPost("/{name}/pause", PauseSchedule).WithSummary("Stop a schedule from firing");
        api.MapPost("/{name}/resume", ResumeSchedule).WithSummary("Let a paused schedule fire again (missed instants follow its catch-up policy)");
        api.MapPost("/{name}/run", RunSchedule).WithSummary("Enqueue one job of the schedule now; its instants fire as before");
        return app;
    }

    /// <summary><c>GET /schedules</c>.</summary>
    public static async Task<Ok<IReadOnlyList<ScheduleInfo>>> ListSchedules(ScheduleClient schedules, CancellationToken cancellationToken) =>
        TypedResults.Ok(await schedules.ListAsync(cancellationToken));

    /// <summary><c>POST /schedules/{name}/pause</c>.</summary>
    public static Task<Results<Ok<ScheduleInfo>, ProblemHttpResult>> PauseSchedule(string name, ScheduleClient schedules, CancellationToken cancellationToken) =>
        SetPausedAsync(name, pause: true, schedules, cancellationToken);

    /// <summary><c>POST /schedules/{name}/resume</c>.</summary>
    public static Task<Results<Ok<ScheduleInfo>, ProblemHttpResult>> ResumeSchedule(string name, ScheduleClient schedules, CancellationToken cancellationToken) =>
        SetPausedAsync(name, pause: false, schedules, cancellationToken);

    /// <summary><c>POST /schedules/{name}/run</c>: 201 with the new job's id; each call enqueues one more job.</summary>
    public static async Task<Results<Created<ScheduleRunView>, ProblemHttpResult>> RunSchedule(string name, ScheduleClient schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return await schedules.RunNowAsync(name, cancellationToken) is { } jobId
            ? TypedResults.Created($"/jobs/{jobId}", new ScheduleRunView(name, jobId))
            : NoSuchSchedule();
    }

    private static async Task<Results<Ok<ScheduleInfo>, ProblemHttpResult>> SetPausedAsync(string name, bool pause, ScheduleClient schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        var changed = pause ? await schedules.PauseAsync(name, cancellationToken) : await schedules.ResumeAsync(name, cancellationToken);
        var schedule = changed ? (await schedules.ListAsync(cancellationToken)).FirstOrDefault(s => s.Name == name) : null;
        return schedule is null ? NoSuchSchedule() : TypedResults.Ok(schedule);
    }

    private static ProblemHttpResult NoSuchSchedule() =>
        ApiProblem.Create(StatusCodes.Status404NotFound, "No such schedule", "No schedule has this name; schedules are declared in the Workers' configuration.",
            "name", "the name of a schedule listed by GET /schedules", retryable: false);
}

/// <summary>The job <c>POST /schedules/{name}/run</c> enqueued.</summary>
/// <param name="Schedule">The schedule's name.</param>
/// <param name="JobId">The new job's id (see <c>GET /jobs/{id}</c>).</param>
public sealed record ScheduleRunView(string Schedule, long JobId);
