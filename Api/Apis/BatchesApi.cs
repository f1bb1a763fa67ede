using System.Globalization;
using System.Text.Json;
using Api.Auth;
using Api.Http;
using Api.Jobs;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>
/// Batches over HTTP: enqueue jobs with a callback job that runs once when every one of them is
/// finalized, with the counts in its args under <c>batch</c>; add jobs while the batch is open; seal
/// it; read its counts. Producers act on their own batches; admins on every one. The jobs and the
/// callback are jobs: GET /jobs/{id}, cancel and retry work on each of them.
/// </summary>
public static class BatchesApi
{
    private const string IdExpected = "a batch id: a positive 64-bit integer";

    /// <summary>Maps the <c>/batches</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapBatchesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/batches").WithTags("Batches");
        api.MapPost("", EnqueueBatch).RequireAuthorization(ApiScopes.Producer)
            .Accepts<BatchRequest>("application/json")
            .WithSummary("Enqueue a batch: jobs and a callback that runs once when all of them are finalized, with the counts; one transaction: all or none");
        api.MapPost("/{id}/jobs", AddBatchJobs).RequireAuthorization(ApiScopes.Producer)
            .Accepts<BatchJobsRequest>("application/json")
            .WithSummary("Add jobs to an open batch; 409 once it is sealed");
        api.MapPost("/{id}/seal", SealBatch).RequireAuthorization(ApiScopes.Producer)
            .WithSummary("Seal a batch: it takes no more jobs and its callback fires once they are all finalized (at once if they are)");
        api.MapGet("/{id}", GetBatch).RequireAuthorization(ApiScopes.Producer).WithSummary("A batch's state and counts");
        return app;
    }

    /// <summary>
    /// <c>POST /batches</c>: 201 with Location, the batch id, its callback's job id and its jobs' ids
    /// in the order given; a 400 naming the field; a <c>Warning</c> header per queue no live Worker serves.
    /// </summary>
    public static async Task<Results<Created<BatchCreatedView>, ProblemHttpResult>> EnqueueBatch(
        HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        var caller = Caller.Of(http.User);
        var (document, problem) = await ReadBodyAsync(http, services, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var (batch, invalid) = BatchRequest.Parse(document!.RootElement, NoKey(http, caller));
            if (invalid is not null)
            {
                return invalid;
            }

            batch = batch! with
            {
                CreatedBy = caller.Name,
                Callback = batch.Callback with { CreatedBy = caller.Name },
                Jobs = [.. batch.Jobs.Select(j => j with { CreatedBy = caller.Name })],
            };
            if (batch.Validate() is { } error)
            {
                return ApiProblem.BadField(error.Field, error.Expected);
            }

            if (await FirstUnknownKindAsync(services, [batch.Callback, .. batch.Jobs], callbackFirst: true, cancellationToken) is { } unknown)
            {
                return unknown;
            }

            var enqueued = await services.Jobs.EnqueueBatchAsync(batch, cancellationToken);
            await services.Queues.WarnOfUnservedAsync(http.Response, [batch.Callback.Queue, .. batch.Jobs.Select(j => j.Queue)], cancellationToken);
            return TypedResults.Created($"/batches/{enqueued.BatchId}",
                new BatchCreatedView(enqueued.BatchId, batch.Name, enqueued.State, enqueued.CallbackJobId, enqueued.JobIds));
        }
    }

    /// <summary>
    /// <c>POST /batches/{id}/jobs</c> with <c>{"jobs": [...]}</c>: 200 with the new jobs' ids and the
    /// batch; 404 for a batch this key cannot see; 409 when the batch is sealed, fired or its callback
    /// was cancelled (nothing is written).
    /// </summary>
    public static async Task<Results<Ok<BatchJobsAddedView>, ProblemHttpResult>> AddBatchJobs(
        string id, HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        if (ParseId(id) is not { } batchId)
        {
            return ApiProblem.BadField("id", IdExpected);
        }

        var caller = Caller.Of(http.User);
        var (document, problem) = await ReadBodyAsync(http, services, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var (jobs, invalid) = BatchJobsRequest.Parse(document!.RootElement, NoKey(http, caller));
            if (invalid is not null)
            {
                return invalid;
            }

            jobs = [.. jobs!.Select(j => j with { CreatedBy = caller.Name })];
            if (NewBatch.ValidateJobs(jobs, minimum: 1) is { } error)
            {
                return ApiProblem.BadField(error.Field, error.Expected);
            }

            if (await FirstUnknownKindAsync(services, [.. jobs], callbackFirst: false, cancellationToken) is { } unknown)
            {
                return unknown;
            }

            if (!await IsVisibleAsync(batchId, caller, services, cancellationToken))
            {
                return NotFound();
            }

            var added = await services.Jobs.AddToBatchAsync(batchId, jobs, cancellationToken);
            switch (added.Outcome)
            {
                case BatchChangeOutcome.NotFound:
                    return NotFound();
                case BatchChangeOutcome.Closed:
                    return ApiProblem.Create(StatusCodes.Status409Conflict, "Batch is closed",
                        $"Batch {batchId} is {added.Batch!.State}: it takes no more jobs, and none of these was added. Enqueue them in a new batch.",
                        "id", "an open batch: created with \"open\": true and not sealed yet", retryable: false);
            }

            await services.Queues.WarnOfUnservedAsync(http.Response, jobs.Select(j => j.Queue), cancellationToken);
            return TypedResults.Ok(new BatchJobsAddedView(added.JobIds, BatchView.From(added.Batch!)));
        }
    }

    /// <summary>
    /// <c>POST /batches/{id}/seal</c>: 200 with the batch, now sealed (or fired, when every job was
    /// already finalized); sealing a sealed or fired batch changes nothing and answers the same.
    /// </summary>
    public static async Task<Results<Ok<BatchView>, ProblemHttpResult>> SealBatch(
        string id, HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        if (ParseId(id) is not { } batchId)
        {
            return ApiProblem.BadField("id", IdExpected);
        }

        if (!await IsVisibleAsync(batchId, Caller.Of(http.User), services, cancellationToken))
        {
            return NotFound();
        }

        var sealedBatch = await services.Jobs.SealBatchAsync(batchId, cancellationToken);
        return sealedBatch.Batch is { } batch ? TypedResults.Ok(BatchView.From(batch)) : NotFound();
    }

    /// <summary><c>GET /batches/{id}</c>: the batch's state, its counts and its callback; producers see only their own.</summary>
    public static async Task<Results<Ok<BatchView>, ProblemHttpResult>> GetBatch(
        string id, HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        if (ParseId(id) is not { } batchId)
        {
            return ApiProblem.BadField("id", IdExpected);
        }

        var batch = await services.Jobs.GetBatchAsync(batchId, cancellationToken);
        return batch is not null && IsVisible(batch, Caller.Of(http.User)) ? TypedResults.Ok(BatchView.From(batch)) : NotFound();
    }

    // A batch takes no Idempotency-Key: a repeat would enqueue its jobs again, so the header is refused.
    private static async Task<(JsonDocument? Document, ProblemHttpResult? Problem)> ReadBodyAsync(
        HttpContext http, JobServices services, CancellationToken cancellationToken) =>
        http.Request.Headers.ContainsKey(IdempotencyKey.HeaderName)
            ? (null, ApiProblem.BadField(IdempotencyKey.HeaderName, "no idempotency key: a batch does not take one",
                "The /batches endpoints do not deduplicate by Idempotency-Key; send the request without it."))
            : await services.Body.ReadAsync(http.Request, cancellationToken);

    // The header is absent (ReadBodyAsync refused it), so this says: no key, and none in the body either.
    private static IdempotencyKey NoKey(HttpContext http, Caller caller) => IdempotencyKey.FromHeader(http.Request, caller.Name).Key!;

    // Kinds in the order the request lists them: the callback first when it has one, then the jobs.
    private static async Task<ProblemHttpResult?> FirstUnknownKindAsync(JobServices services, NewJob[] jobs, bool callbackFirst, CancellationToken cancellationToken)
    {
        var offset = callbackFirst ? 1 : 0;
        if (await services.Kinds.FirstUnknownAsync([.. jobs.Select(j => j.Kind)], cancellationToken) is not { } unknown)
        {
            return null;
        }

        var field = unknown < offset ? "callback.kind" : $"jobs[{unknown - offset}].kind";
        return ApiProblem.BadField(field, "a kind a running Worker registered or Api:Kinds lists", $"No Worker handles the kind '{jobs[unknown].Kind}' ('{field}').");
    }

    private static long? ParseId(string id) =>
        long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var batchId) && batchId > 0 ? batchId : null;

    private static async Task<bool> IsVisibleAsync(long batchId, Caller caller, JobServices services, CancellationToken cancellationToken) =>
        await services.Jobs.GetBatchAsync(batchId, cancellationToken) is { } batch && IsVisible(batch, caller);

    // Its creator never changes, so a check before a change holds for the change.
    private static bool IsVisible(BatchRecord batch, Caller caller) => caller.IsAdmin || batch.CreatedBy == caller.Name;

    private static ProblemHttpResult NotFound() =>
        ApiProblem.Create(StatusCodes.Status404NotFound, "No such batch", "No batch with this id is visible to this API key.",
            "id", "the id of an existing batch", retryable: false);
}
