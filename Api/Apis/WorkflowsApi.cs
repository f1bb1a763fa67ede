using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Api.Auth;
using Api.Http;
using Api.Jobs;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>
/// Workflows over HTTP: enqueue a set of named steps with dependencies between them, all or none,
/// and read its progress. Producers enqueue and read their own workflows; admins read every one.
/// Steps are jobs: GET /jobs/{id}, cancel and retry work on each of them.
/// </summary>
public static class WorkflowsApi
{
    private const string IdExpected = "a workflow id: a positive 64-bit integer";
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;
    private static readonly string[] StepFields = ["name", "dependsOn", "onDependencyFailure"];

    /// <summary>Maps the <c>/workflows</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapWorkflowsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/workflows").WithTags("Workflows");
        api.MapPost("", EnqueueWorkflow).RequireAuthorization(ApiScopes.Producer)
            .Accepts<WorkflowRequest>("application/json")
            .WithSummary("Enqueue a workflow: named steps with dependencies, checked to be acyclic, written in one transaction: all or none");
        api.MapGet("", ListWorkflows).RequireAuthorization(ApiScopes.Admin).WithSummary("List workflows newest first, with their progress, by name, with a cursor");
        api.MapGet("/{id}", GetWorkflow).RequireAuthorization(ApiScopes.Producer).WithSummary("A workflow's steps, their states and its progress");
        api.MapPost("/{id}/cancel", CancelWorkflow).RequireAuthorization(ApiScopes.Producer)
            .WithSummary("Cancel every step that has not started, in one transaction; running steps finish as they are");
        return app;
    }

    /// <summary>
    /// <c>POST /workflows</c>: 201 with Location, the workflow id and each step's job id, in the
    /// order given; a 400 naming the step for a cycle, an unknown or repeated step name, or a bad
    /// field; a <c>Warning</c> header per queue no live Worker serves.
    /// </summary>
    public static async Task<Results<Created<WorkflowCreatedView>, ProblemHttpResult>> EnqueueWorkflow(
        HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        var caller = Caller.Of(http.User);
        if (http.Request.Headers.ContainsKey(IdempotencyKey.HeaderName))
        {
            return ApiProblem.BadField(IdempotencyKey.HeaderName, "no idempotency key: a workflow does not take one",
                "POST /workflows does not deduplicate by Idempotency-Key; send the request without it.");
        }

        var (document, problem) = await services.Body.ReadAsync(http.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var (workflow, invalid) = Parse(document!.RootElement, IdempotencyKey.FromHeader(http.Request, caller.Name).Key!);
            if (invalid is not null)
            {
                return invalid;
            }

            workflow = workflow! with { CreatedBy = caller.Name };
            if (workflow.Validate() is { } error)
            {
                return ApiProblem.BadField(error.Field, error.Expected, error.Detail);
            }

            var kinds = workflow.Steps.Select(s => s.Job.Kind).ToArray();
            if (await services.Kinds.FirstUnknownAsync(kinds, cancellationToken) is { } unknown)
            {
                return ApiProblem.BadField($"steps[{unknown}].kind", "a kind a running Worker registered or Api:Kinds lists",
                    $"No Worker handles the kind '{kinds[unknown]}' (step '{workflow.Steps[unknown].Name}').");
            }

            WorkflowEnqueued enqueued;
            try
            {
                // An admin's workflow may depend on anyone's jobs; a producer's only on its own.
                enqueued = await services.Jobs.EnqueueWorkflowAsync(workflow with
                {
                    DependsOnOwnJobsOnly = !caller.IsAdmin,
                    Steps = [.. workflow.Steps.Select(s => s with { Job = s.Job with { CreatedBy = caller.Name } })],
                }, cancellationToken);
            }
            catch (UnknownDependencyException e)
            {
                return ApiProblem.BadField(e.Field, "the id of an existing job enqueued with this API key",
                    $"No job with the id {e.JobId} is visible to this API key; nothing was enqueued.");
            }

            await services.Queues.WarnOfUnservedAsync(http.Response, workflow.Steps.Select(s => s.Job.Queue), cancellationToken);

            return TypedResults.Created($"/workflows/{enqueued.WorkflowId}", new WorkflowCreatedView(
                enqueued.WorkflowId, workflow.Name, [.. enqueued.Steps.Select(s => new WorkflowStepCreatedView(s.Name, s.JobId, s.State))]));
        }
    }

    /// <summary>
    /// <c>GET /workflows?name=&amp;limit=&amp;cursor=</c>: newest first, one keyset page, each workflow with
    /// its steps waiting, live per state and finished. Admins only: it lists every producer's.
    /// </summary>
    public static async Task<Results<Ok<WorkflowPage>, ProblemHttpResult>> ListWorkflows(
        HttpContext http, WorkflowListing listing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(listing);
        var query = http.Request.Query;
        if (PageQuery.Read(query, ["name", "limit", "cursor"], DefaultPageSize, MaxPageSize, out var limit, out var afterId) is { } badPage)
        {
            return badPage;
        }

        string? name = query["name"];
        if (name is not null && (name.Length is 0 or > NewWorkflow.MaxNameLength || name.Any(char.IsControl)))
        {
            return ApiProblem.BadField("name", $"a workflow name of 1 to {NewWorkflow.MaxNameLength} characters without control characters");
        }

        return TypedResults.Ok(await listing.ListAsync(new WorkflowFilter(name, afterId, limit), cancellationToken));
    }

    /// <summary><c>GET /workflows/{id}</c>: every step with its state, and the counts by state; producers see only their own.</summary>
    public static async Task<Results<Ok<WorkflowView>, ProblemHttpResult>> GetWorkflow(
        string id, HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        if (!TryParseId(id, out var workflowId))
        {
            return ApiProblem.BadField("id", IdExpected);
        }

        var caller = Caller.Of(http.User);
        var workflow = await services.Jobs.GetWorkflowAsync(workflowId, cancellationToken);
        return workflow is not null && (caller.IsAdmin || workflow.CreatedBy == caller.Name)
            ? TypedResults.Ok(WorkflowView.From(workflow))
            : NoSuchWorkflow();
    }

    /// <summary>
    /// <c>POST /workflows/{id}/cancel</c>: every waiting, available, scheduled or retryable step is
    /// cancelled in one transaction; running steps finish as they are. 200 with the counts (a second
    /// call cancels 0); 404 for an unknown workflow, or another producer's.
    /// </summary>
    public static async Task<Results<Ok<WorkflowCancelView>, ProblemHttpResult>> CancelWorkflow(
        string id, HttpContext http, JobServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        if (!TryParseId(id, out var workflowId))
        {
            return ApiProblem.BadField("id", IdExpected);
        }

        var caller = Caller.Of(http.User);
        var result = await services.Jobs.CancelWorkflowAsync(workflowId, caller.IsAdmin ? null : caller.Name, cancellationToken);
        return result is null
            ? NoSuchWorkflow()
            : TypedResults.Ok(new WorkflowCancelView(result.WorkflowId, result.Cancelled, result.LeftRunning));
    }

    private static bool TryParseId(string text, out long id) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;

    private static ProblemHttpResult NoSuchWorkflow() =>
        ApiProblem.Create(StatusCodes.Status404NotFound, "No such workflow", "No workflow with this id is visible to this API key.",
            "id", "the id of an existing workflow", retryable: false);

    // The body: {"name"?, "steps": [{"name", "dependsOn"?, "onDependencyFailure"?, ...the fields of POST /jobs}]}.
    // Each step's job fields are read by EnqueueRequest.Parse, so they are checked as POST /jobs checks them.
    private static (NewWorkflow? Workflow, ProblemHttpResult? Problem) Parse(JsonElement root, IdempotencyKey noKey)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Fail("body", "a JSON object with 'steps'");
        }

        string? name = null;
        JsonElement? steps = null;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name" when property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null:
                    name = property.Value.GetString();
                    break;
                case "name":
                    return Fail("name", $"a string of 1 to {NewWorkflow.MaxNameLength} characters");
                case "steps":
                    steps = property.Value;
                    break;
                default:
                    return Fail(property.Name, "no such field; the fields are name and steps");
            }
        }

        if (steps is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() is 0 or > NewWorkflow.MaxSteps)
        {
            return Fail("steps", $"an array of 1 to {NewWorkflow.MaxSteps} steps");
        }

        var parsed = new List<NewWorkflowStep>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            var path = $"steps[{parsed.Count}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                return Fail(path, "a JSON object with at least 'name' and 'kind'");
            }

            var job = new JsonObject();
            string? stepName = null;
            var dependsOn = new List<string>();
            var dependsOnJobIds = new List<long>();
            var policy = DependencyFailure.Cancel;
            foreach (var property in item.EnumerateObject())
            {
                var value = property.Value;
                switch (property.Name)
                {
                    case "name" when value.ValueKind == JsonValueKind.String:
                        stepName = value.GetString();
                        break;
                    case "name":
                        return Fail($"{path}.name", $"a step name of 1 to {NewWorkflow.MaxStepNameLength} characters");
                    case "dependsOn" when value.ValueKind == JsonValueKind.Null:
                        break;
                    case "dependsOn" when value.ValueKind == JsonValueKind.Array:
                        foreach (var dependency in value.EnumerateArray())
                        {
                            if (dependency.ValueKind != JsonValueKind.String)
                            {
                                return Fail($"{path}.dependsOn[{dependsOn.Count}]", "the name of another step of this workflow");
                            }

                            dependsOn.Add(dependency.GetString()!);
                        }

                        break;
                    case "dependsOn":
                        return Fail($"{path}.dependsOn", "an array of names of other steps of this workflow");
                    case "dependsOnJobIds" when value.ValueKind == JsonValueKind.Null:
                        break;
                    case "dependsOnJobIds" when value.ValueKind == JsonValueKind.Array:
                        foreach (var dependency in value.EnumerateArray())
                        {
                            if (dependency.ValueKind != JsonValueKind.Number || !dependency.TryGetInt64(out var jobId) || jobId <= 0)
                            {
                                return Fail($"{path}.dependsOnJobIds[{dependsOnJobIds.Count}]", "the id of an existing job: a positive 64-bit integer");
                            }

                            dependsOnJobIds.Add(jobId);
                        }

                        break;
                    case "dependsOnJobIds":
                        return Fail($"{path}.dependsOnJobIds", "an array of ids of existing jobs");
                    case "onDependencyFailure" when value.ValueKind is JsonValueKind.Null:
                        break;
                    case "onDependencyFailure" when value.ValueKind is JsonValueKind.String && value.GetString() is "cancel" or "run":
                        policy = value.GetString() == "run" ? DependencyFailure.Run : DependencyFailure.Cancel;
                        break;
                    case "onDependencyFailure":
                        return Fail($"{path}.onDependencyFailure", "'cancel' (the default: a failed dependency cancels the step) or 'run' (it runs anyway)");
                    default:
                        if (job.ContainsKey(property.Name))
                        {
                            return Fail($"{path}.{property.Name}", "each field at most once");
                        }

                        job[property.Name] = JsonNode.Parse(value.GetRawText());
                        break;
                }
            }

            if (stepName is null)
            {
                return Fail($"{path}.name", $"a step name of 1 to {NewWorkflow.MaxStepNameLength} characters", $"'{path}.name' is required.");
            }

            var (newJob, invalid) = EnqueueRequest.Parse(JsonSerializer.SerializeToElement(job), path + ".", noKey);
            if (invalid is not null)
            {
                return (null, invalid);
            }

            parsed.Add(new NewWorkflowStep(stepName, newJob!) { DependsOn = dependsOn, DependsOnJobIds = dependsOnJobIds, OnDependencyFailure = policy });
        }

        return (new NewWorkflow(parsed) { Name = name }, null);
    }

    private static (NewWorkflow?, ProblemHttpResult?) Fail(string field, string expected, string? detail = null) =>
        (null, ApiProblem.BadField(field, expected, detail));
}

/// <summary>The body of <c>POST /workflows</c>, as the OpenAPI document shows it.</summary>
/// <param name="Name">An optional name (1 to 200 characters).</param>
/// <param name="Steps">1 to 20,000 steps; each has the fields of POST /jobs (but runAt and idempotencyKey) and a name, dependsOn and onDependencyFailure.</param>
public sealed record WorkflowRequest(string? Name, WorkflowStepRequest[] Steps);

/// <summary>One step of <c>POST /workflows</c>.</summary>
/// <param name="Name">Unique in the workflow.</param>
/// <param name="Kind">Which handler runs it.</param>
/// <param name="Args">Its arguments, a JSON object.</param>
/// <param name="Queue">The queue (default <c>default</c>).</param>
/// <param name="Priority">0 runs first, 9 last (default 5).</param>
/// <param name="MaxAttempts">Attempts before it is discarded (default 25).</param>
/// <param name="DependsOn">Names of the steps that must complete first.</param>
/// <param name="DependsOnJobIds">Ids of existing jobs that must complete first (a completed one counts as done, a failed one fails the step as onDependencyFailure says).</param>
/// <param name="OnDependencyFailure"><c>cancel</c> (default) or <c>run</c>.</param>
public sealed record WorkflowStepRequest(string Name, string Kind, JsonObject? Args, string? Queue, short? Priority, short? MaxAttempts, string[]? DependsOn, long[]? DependsOnJobIds, string? OnDependencyFailure);

/// <summary>The answer of <c>POST /workflows</c>.</summary>
/// <param name="Id">The workflow's id.</param>
/// <param name="Name">Its name, when given.</param>
/// <param name="Steps">Each step's job, in the order given.</param>
public sealed record WorkflowCreatedView(long Id, string? Name, WorkflowStepCreatedView[] Steps);

/// <summary>A step as enqueued.</summary>
/// <param name="Name">The step's name.</param>
/// <param name="JobId">Its job (GET /jobs/{id}).</param>
/// <param name="State"><c>available</c> or <c>pending</c>.</param>
public sealed record WorkflowStepCreatedView(string Name, long JobId, string State);

/// <summary>The answer of <c>GET /workflows/{id}</c>.</summary>
/// <param name="Id">The workflow's id.</param>
/// <param name="Name">Its name, when given.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="CreatedBy">The API key that enqueued it.</param>
/// <param name="Finished">True when every step is in a final state.</param>
/// <param name="Progress">Counts of its steps.</param>
/// <param name="Steps">Its steps in the order given.</param>
public sealed record WorkflowView(long Id, string? Name, DateTimeOffset CreatedAt, string? CreatedBy, bool Finished, WorkflowProgressView Progress, WorkflowStepView[] Steps)
{
    /// <summary>The view of a stored workflow.</summary>
    public static WorkflowView From(WorkflowRecord workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        return new(workflow.Id, workflow.Name, workflow.CreatedAt, workflow.CreatedBy, workflow.IsFinished,
            new WorkflowProgressView(workflow.Steps.Count, workflow.Finished, workflow.CountsByState),
            [.. workflow.Steps.Select(s => new WorkflowStepView(s.Name, s.JobId, s.State ?? "finished", s.Attempt, s.DependsOn, s.DependsOnJobIds,
                s.OnDependencyFailure == DependencyFailure.Run ? "run" : "cancel", s.LastError, s.FinalizedAt))]);
    }
}

/// <summary>How far a workflow is.</summary>
/// <param name="Total">Its steps.</param>
/// <param name="Finished">Steps in a final state.</param>
/// <param name="ByState">Steps per state (<c>finished</c>: done, with no history kept to say how).</param>
public sealed record WorkflowProgressView(int Total, int Finished, IReadOnlyDictionary<string, int> ByState);

/// <summary>One step of <c>GET /workflows/{id}</c>.</summary>
/// <param name="Name">The step's name.</param>
/// <param name="JobId">Its job (GET /jobs/{id}).</param>
/// <param name="State">Its job's state; <c>finished</c> when it finished and no history was kept.</param>
/// <param name="Attempt">Attempts started.</param>
/// <param name="DependsOn">The steps it waits for.</param>
/// <param name="DependsOnJobIds">The jobs outside the workflow it waits for.</param>
/// <param name="OnDependencyFailure"><c>cancel</c> or <c>run</c>.</param>
/// <param name="LastError">Its latest error message (for a cancelled step: which dependency failed).</param>
/// <param name="FinalizedAt">When it reached its final state.</param>
public sealed record WorkflowStepView(string Name, long JobId, string State, short Attempt, IReadOnlyList<string> DependsOn, IReadOnlyList<long> DependsOnJobIds, string OnDependencyFailure, string? LastError, DateTimeOffset? FinalizedAt);

/// <summary>The answer of <c>POST /workflows/{id}/cancel</c>.</summary>
/// <param name="Id">The workflow's id.</param>
/// <param name="Cancelled">Steps this call cancelled (0 when nothing was left to cancel).</param>
/// <param name="LeftRunning">Steps that were running, left to finish as they are.</param>
public sealed record WorkflowCancelView(long Id, int Cancelled, int LeftRunning);
