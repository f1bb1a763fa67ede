using System.Globalization;
using System.Text.Json;
using Api.Auth;
using Api.Caching;
using Api.Http;
using Api.Jobs;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Api.Apis;

/// <summary>
/// Jobs over HTTP: enqueue one or a batch, read one, list with filters and a cursor, cancel and
/// retry one or every job a filter matches. Producers enqueue and read their own jobs; admins do everything.
/// </summary>
public static class JobsApi
{
    private const string IdExpected = "a job id: a positive 64-bit integer";
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 200;

    /// <summary>Maps the <c>/jobs</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/jobs").WithTags("Jobs");
        api.MapPost("", EnqueueJob).RequireAuthorization(ApiScopes.Producer)
            .Accepts<EnqueueRequest>("application/json").WithSummary("Enqueue one job");
        api.MapPost("/batch", EnqueueBatch).RequireAuthorization(ApiScopes.Producer)
            .Accepts<EnqueueRequest[]>("application/json").WithSummary("Enqueue many jobs in one transaction: all or none");
        api.MapGet("", ListJobs).RequireAuthorization(ApiScopes.Admin).WithSummary("List jobs newest first, filtered, with a cursor");
        api.MapGet("/{id}", GetJob).RequireAuthorization(ApiScopes.Producer).WithSummary("One job with its attempts and errors");
        api.MapPost("/{id}/cancel", CancelJob).RequireAuthorization(ApiScopes.Admin).WithSummary("Cancel a job that has not finished");
        api.MapPost("/retry", RetryJobs).RequireAuthorization(ApiScopes.Admin).Accepts<BulkRequest>("application/json")
            .WithSummary("Retry every discarded or cancelled job a filter matches, in batches; answers how many");
        api.MapPost("/cancel", CancelJobs).RequireAuthorization(ApiScopes.Admin).Accepts<BulkRequest>("application/json")
            .WithSummary("Cancel every available, scheduled or retryable job a filter matches, in batches; answers how many");
        api.MapPost("/{id}/retry", RetryJob).RequireAuthorization(ApiScopes.Admin).WithSummary("Run a discarded, cancelled, retryable or scheduled job again now");
        return app;
    }

    /// <summary>
    /// <c>POST /jobs</c>: 201 with Location for a new job, 200 with the original for a repeated
    /// <c>Idempotency-Key</c>; a <c>Warning</c> header when no live Worker serves its queue.
    /// </summary>
    public static async Task<Results<Created<JobView>, Ok<JobView>, ProblemHttpResult>> EnqueueJob(
        HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var caller = Caller.Of(http.User);
        var (key, badKey) = IdempotencyKey.FromHeader(http.Request, caller.Name);
        if (badKey is not null)
        {
            return badKey;
        }

        var (document, problem) = await services.Body.ReadAsync(http.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var (job, invalid) = EnqueueRequest.Parse(document!.RootElement, "", key!);
            if (invalid is not null)
            {
                return invalid;
            }

            if (await services.Kinds.FirstUnknownAsync([job!.Kind], cancellationToken) is not null)
            {
                return UnknownKind("kind", job.Kind);
            }

            var result = (await services.Intake.EnqueueAsync([job], caller.Name, cancellationToken))[0];
            await services.Queues.WarnOfUnservedAsync(http.Response, [job.Queue], cancellationToken);
            var view = JobView.From(result.Job, caller.Name);
            return result.Existing
                ? TypedResults.Ok(view)
                : TypedResults.Created($"/jobs/{view.Id}", view);
        }
    }

    /// <summary>
    /// <c>POST /jobs/batch</c>: a JSON array of jobs; 201 with every job, in order, or a 4xx and none;
    /// a <c>Warning</c> header per queue of the batch that no live Worker serves.
    /// </summary>
    public static async Task<Results<Created<JobView[]>, ProblemHttpResult>> EnqueueBatch(
        HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var caller = Caller.Of(http.User);
        var (document, problem) = await services.Body.ReadAsync(http.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var root = document!.RootElement;
            var max = services.Options.MaxBatchSize;
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() is 0)
            {
                return ApiProblem.BadField("body", $"a JSON array of 1 to {max} jobs");
            }

            if (root.GetArrayLength() > max)
            {
                return ApiProblem.BadField("body", $"a JSON array of 1 to {max} jobs", $"The batch has {root.GetArrayLength()} jobs; at most {max} are accepted (Api:MaxBatchSize).");
            }

            var jobs = new List<NewJob>(root.GetArrayLength());
            var keys = IdempotencyKey.InBatchItems(caller.Name);
            foreach (var item in root.EnumerateArray())
            {
                var (job, invalid) = EnqueueRequest.Parse(item, $"[{jobs.Count}].", keys);
                if (invalid is not null)
                {
                    return invalid;
                }

                jobs.Add(job!);
            }

            if (await services.Kinds.FirstUnknownAsync([.. jobs.Select(j => j.Kind)], cancellationToken) is { } unknown)
            {
                return UnknownKind($"[{unknown}].kind", jobs[unknown].Kind);
            }

            var results = await services.Intake.EnqueueAsync(jobs, caller.Name, cancellationToken);
            await services.Queues.WarnOfUnservedAsync(http.Response, jobs.Select(j => j.Queue), cancellationToken);
            return TypedResults.Created("/jobs", results.Select(r => JobView.From(r.Job, caller.Name)).ToArray());
        }
    }

    /// <summary><c>GET /jobs/{id}</c>: finalized jobs may come from cache (<c>X-Cache</c>); producers see only their own.</summary>
    public static async Task<Results<Ok<JobView>, ProblemHttpResult>> GetJob(
        string id, HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!TryParseId(id, out var jobId))
        {
            return ApiProblem.BadField("id", IdExpected);
        }

        var (job, outcome) = await services.Reader.GetAsync(jobId, CacheStatus.WantsFresh(http.Request), cancellationToken);
        services.CacheStatus.Report(http, CacheRules.FinalizedJob, outcome);
        var caller = Caller.Of(http.User);
        return job is not null && (caller.IsAdmin || job.CreatedBy == caller.Name)
            ? TypedResults.Ok(job)
            : NoSuchJob();
    }

    /// <summary><c>GET /jobs?state=&amp;queue=&amp;kind=&amp;limit=&amp;cursor=</c>: newest first, one keyset page.</summary>
    public static async Task<Results<Ok<JobPage>, ProblemHttpResult>> ListJobs(
        HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var query = http.Request.Query;
        if (PageQuery.Read(query, ["state", "queue", "kind", "limit", "cursor"], DefaultPageSize, MaxPageSize, out var limit, out var afterId) is { } badPage)
        {
            return badPage;
        }

        string? state = query["state"], queue = query["queue"], kind = query["kind"];
        if (state is not null && !JobState.All.Contains(state))
        {
            return ApiProblem.BadField("state", "one of " + string.Join(", ", JobState.All));
        }

        if (queue is not null && !NewJob.IsValidQueue(queue))
        {
            return ApiProblem.BadField("queue", $"a queue name of 1 to {NewJob.MaxQueueLength} characters");
        }

        if (kind is not null && !NewJob.IsValidKind(kind))
        {
            return ApiProblem.BadField("kind", $"a kind of 1 to {NewJob.MaxKindLength} characters");
        }

        return TypedResults.Ok(await services.Listing.ListAsync(new JobFilter(state, queue, kind, afterId, limit), cancellationToken));
    }

    /// <summary><c>POST /jobs/{id}/cancel</c>: 200 with the job; 409 when it already finished.</summary>
    public static Task<Results<Ok<JobView>, ProblemHttpResult>> CancelJob(
        string id, JobServices services, CancellationToken cancellationToken) =>
        ActAsync(id, services, static (jobs, jobId, token) => jobs.CancelAsync(jobId, token),
            "a job that is available, scheduled, running or retryable", cancellationToken);

    /// <summary><c>POST /jobs/{id}/retry</c>: 200 with the job, now available; 409 when it is running, available or completed.</summary>
    public static Task<Results<Ok<JobView>, ProblemHttpResult>> RetryJob(
        string id, JobServices services, CancellationToken cancellationToken) =>
        ActAsync(id, services, static (jobs, jobId, token) => jobs.RetryAsync(jobId, token),
            "a job that is discarded, cancelled, retryable or scheduled", cancellationToken);

    /// <summary>
    /// <c>POST /jobs/retry</c>: every discarded or cancelled job matching the filter is available
    /// again; 200 with the count. Idempotent: a second call finds nothing to move and says 0.
    /// </summary>
    public static Task<Results<Ok<BulkResult>, ProblemHttpResult>> RetryJobs(
        HttpContext http, JobServices services, CancellationToken cancellationToken) =>
        BulkAsync(http, services, JobBulkActions.RetryStates, static (bulk, filter, dryRun, token) => bulk.RetryAsync(filter, dryRun, token), cancellationToken);

    /// <summary>
    /// <c>POST /jobs/cancel</c>: every available, scheduled or retryable job matching the filter is
    /// cancelled; 200 with the count. Idempotent: a second call finds nothing to move and says 0.
    /// </summary>
    public static Task<Results<Ok<BulkResult>, ProblemHttpResult>> CancelJobs(
        HttpContext http, JobServices services, CancellationToken cancellationToken) =>
        BulkAsync(http, services, JobBulkActions.CancelStates, static (bulk, filter, dryRun, token) => bulk.CancelAsync(filter, dryRun, token), cancellationToken);

    private static async Task<Results<Ok<BulkResult>, ProblemHttpResult>> BulkAsync(
        HttpContext http, JobServices services, IReadOnlyList<string> states,
        Func<JobBulkActions, BulkFilter, bool, CancellationToken, Task<BulkResult>> act, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (document, problem) = await services.Body.ReadAsync(http.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var (filter, dryRun, invalid) = BulkRequest.Parse(document!.RootElement, states);
            if (invalid is not null)
            {
                return invalid;
            }

            try
            {
                return TypedResults.Ok(await act(services.Bulk, filter!, dryRun, cancellationToken));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // A job enqueued between a batch's check and its insert took an idempotency key the
                // batch was reviving; that batch rolled back, the earlier ones stay done.
                return ApiProblem.Create(StatusCodes.Status409Conflict, "Idempotency key taken meanwhile",
                    "A job enqueued during the retry holds the idempotency key of a job being retried; the jobs moved before it stay moved.",
                    "idempotencyKey", "no concurrent enqueue with the key of a job being retried", retryable: true);
            }
        }
    }

    private static async Task<Results<Ok<JobView>, ProblemHttpResult>> ActAsync(
        string id, JobServices services, Func<JobClient, long, CancellationToken, Task<JobActionResult>> act, string allowed, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var jobId))
        {
            return ApiProblem.BadField("id", IdExpected);
        }

        var result = await act(services.Jobs, jobId, cancellationToken);
        switch (result.Outcome)
        {
            case JobActionOutcome.NotFound:
                return NoSuchJob();
            case JobActionOutcome.Conflict:
                return ApiProblem.Create(StatusCodes.Status409Conflict, "Not allowed in this state",
                    $"The job is {result.PreviousState}: {result.Reason}.", "state", allowed, retryable: false);
        }

        // A retried job is live again: its cached finalized copy must go.
        await services.Reader.InvalidateAsync(jobId, cancellationToken);
        var (job, _) = await services.Reader.GetAsync(jobId, fresh: true, cancellationToken);
        return job is null ? NoSuchJob() : TypedResults.Ok(job);
    }

    private static bool TryParseId(string text, out long id) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;

    private static ProblemHttpResult NoSuchJob() =>
        ApiProblem.Create(StatusCodes.Status404NotFound, "No such job", "No job with this id is visible to this API key.", "id", "the id of an existing job", retryable: false);

    private static ProblemHttpResult UnknownKind(string field, string kind) =>
        ApiProblem.BadField(field, "a kind a running Worker registered or Api:Kinds lists",
            $"No Worker handles the kind '{kind}'.");
}
