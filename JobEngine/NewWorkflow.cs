namespace JobEngine;

/// <summary>What a step does when one of its dependencies ends <c>discarded</c> or <c>cancelled</c>.</summary>
public enum DependencyFailure
{
    /// <summary>The step is cancelled at once, with an error naming the dependency (the default).</summary>
    Cancel,
    /// <summary>The step runs anyway, as if the dependency had completed.</summary>
    Run,
}

/// <summary>One named step of a workflow: a job, and the steps of the same workflow it waits for.</summary>
/// <param name="Name">Unique in its workflow, 1 to 128 characters without control characters.</param>
/// <param name="Job">The job to run (its queue, kind, args, priority, attempts); no run-at time and no idempotency key.</param>
public sealed record NewWorkflowStep(string Name, NewJob Job)
{
    /// <summary>Names of the steps that must complete before this one runs.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    /// <summary>
    /// Ids of existing jobs (of any workflow, or none) that must complete before this step runs. One
    /// that already completed counts as done; one already discarded or cancelled fails the step at
    /// once as <see cref="OnDependencyFailure"/> says; an unknown id fails the enqueue
    /// (<see cref="UnknownDependencyException"/>).
    /// </summary>
    public IReadOnlyList<long> DependsOnJobIds { get; init; } = [];

    /// <summary>What happens when a dependency ends discarded or cancelled.</summary>
    public DependencyFailure OnDependencyFailure { get; init; } = DependencyFailure.Cancel;
}

/// <summary>
/// A set of named steps with dependencies between them, enqueued in one transaction by
/// <see cref="JobClient.EnqueueWorkflowAsync(NewWorkflow, CancellationToken)"/>. The dependencies
/// must form a directed acyclic graph; steps without dependencies are available at once, the others
/// wait (<see cref="JobState.Pending"/>) until every dependency completed.
/// </summary>
/// <param name="Steps">The steps, at most <see cref="MaxSteps"/>.</param>
public sealed record NewWorkflow(IReadOnlyList<NewWorkflowStep> Steps)
{
    /// <summary>Most steps in one workflow.</summary>
    public const int MaxSteps = 20_000;
    /// <summary>Most dependencies (edges) in one workflow, over all its steps.</summary>
    public const int MaxDependencies = 200_000;
    /// <summary>Longest step name, in characters.</summary>
    public const int MaxStepNameLength = 128;
    /// <summary>Longest workflow name, in characters.</summary>
    public const int MaxNameLength = 200;

    /// <summary>An optional name shown by GET /workflows/{id}.</summary>
    public string? Name { get; init; }

    /// <summary>Who enqueues it (the Api writes its API key's name), stored with the workflow and each step's job.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>When true, a step may depend by id only on jobs enqueued with the same <see cref="CreatedBy"/> (the Api sets it for producer keys).</summary>
    public bool DependsOnOwnJobsOnly { get; init; }

    /// <summary>
    /// The first thing wrong with this workflow (a field path such as <c>steps[3].dependsOn[0]</c>,
    /// what was expected there, and a sentence naming the step), or null when it can be enqueued:
    /// sizes, names, each step's job, unknown or repeated dependencies, and cycles.
    /// </summary>
    public WorkflowError? Validate()
    {
        if (Steps is null || Steps.Count is 0 or > MaxSteps)
        {
            return new("steps", $"an array of 1 to {MaxSteps} steps", $"A workflow has 1 to {MaxSteps} steps; this one has {Steps?.Count ?? 0}.");
        }

        if (Name is { } name && (name.Length is 0 or > MaxNameLength || name.Any(char.IsControl)))
        {
            return new("name", $"1 to {MaxNameLength} characters without control characters", null);
        }

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var edges = 0;
        for (var i = 0; i < Steps.Count; i++)
        {
            var step = Steps[i];
            if (step?.Name is not { Length: > 0 and <= MaxStepNameLength } stepName || stepName.Any(char.IsControl))
            {
                return new($"steps[{i}].name", $"a step name of 1 to {MaxStepNameLength} characters without control characters", null);
            }

            if (!index.TryAdd(stepName, i))
            {
                return new($"steps[{i}].name", "a name no other step of the workflow has", $"Step name '{stepName}' is used by steps {index[stepName]} and {i}.");
            }

            if (step.Job is null)
            {
                return new($"steps[{i}]", "a job", null);
            }

            if (step.Job.Validate() is [var first, ..])
            {
                return new($"steps[{i}].{first.Field}", first.Expected, null);
            }

            if (step.Job.RunAt is not null)
            {
                return new($"steps[{i}].runAt", "no run-at time: a step runs when its dependencies completed", null);
            }

            if (step.Job.IdempotencyKey is not null)
            {
                return new($"steps[{i}].idempotencyKey", "no idempotency key: a workflow step has none", null);
            }

            var jobIds = step.DependsOnJobIds ?? [];
            for (var k = 0; k < jobIds.Count; k++)
            {
                if (jobIds[k] <= 0 || jobIds.Take(k).Contains(jobIds[k]))
                {
                    return new($"steps[{i}].dependsOnJobIds[{k}]", "the id of an existing job, each named at most once", null);
                }
            }

            edges += (step.DependsOn?.Count ?? 0) + jobIds.Count;
            if (edges > MaxDependencies)
            {
                return new($"steps[{i}].dependsOn", $"at most {MaxDependencies} dependencies over the whole workflow", null);
            }
        }

        for (var i = 0; i < Steps.Count; i++)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var dependsOn = Steps[i].DependsOn ?? [];
            for (var k = 0; k < dependsOn.Count; k++)
            {
                var dependency = dependsOn[k];
                if (dependency is null || !index.ContainsKey(dependency))
                {
                    return new($"steps[{i}].dependsOn[{k}]", "the name of another step of this workflow",
                        $"Step '{Steps[i].Name}' depends on '{dependency}', which is not a step of this workflow.");
                }

                if (!seen.Add(dependency))
                {
                    return new($"steps[{i}].dependsOn[{k}]", "each step named at most once", $"Step '{Steps[i].Name}' names '{dependency}' twice.");
                }
            }
        }

        return FindCycle(index) is { } cycle
            ? new($"steps[{index[cycle[0]]}].dependsOn", "dependencies that form no cycle",
                $"The steps form a cycle: {string.Join(" -> ", cycle)} (each depends on the next).")
            : null;
    }

    /// <summary>
    /// The positions of the steps, each after every step it depends on (Kahn's algorithm); for a
    /// workflow that <see cref="Validate"/> accepted, every step is in it.
    /// </summary>
    internal List<int> DependencyOrder() =>
        DependencyOrder(Steps.Select((step, i) => (step.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal), out _);

    // Kahn's algorithm: a step is done when all its dependencies are. Steps on or behind a cycle are
    // left out, each with waiting > 0.
    private List<int> DependencyOrder(Dictionary<string, int> index, out int[] waiting)
    {
        waiting = new int[Steps.Count];
        var dependents = new List<int>[Steps.Count];
        for (var i = 0; i < Steps.Count; i++)
        {
            dependents[i] = [];
        }

        for (var i = 0; i < Steps.Count; i++)
        {
            foreach (var dependency in Steps[i].DependsOn ?? [])
            {
                dependents[index[dependency]].Add(i);
                waiting[i]++;
            }
        }

        var left = waiting;
        var ready = new Queue<int>(Enumerable.Range(0, Steps.Count).Where(i => left[i] == 0));
        var order = new List<int>(Steps.Count);
        while (ready.TryDequeue(out var i))
        {
            order.Add(i);
            foreach (var dependent in dependents[i])
            {
                if (--waiting[dependent] == 0)
                {
                    ready.Enqueue(dependent);
                }
            }
        }

        return order;
    }

    // The steps DependencyOrder leaves over each still wait for another leftover step, so walking
    // from one of them along its unfinished dependencies must come back to a step already visited:
    // that loop is the cycle named in the error.
    private List<string>? FindCycle(Dictionary<string, int> index)
    {
        if (DependencyOrder(index, out var waiting).Count == Steps.Count)
        {
            return null;
        }

        var at = Array.FindIndex(waiting, w => w > 0);
        var path = new List<int>();
        var position = new Dictionary<int, int>();
        while (!position.ContainsKey(at))
        {
            position[at] = path.Count;
            path.Add(at);
            at = (Steps[at].DependsOn ?? []).Select(d => index[d]).First(d => waiting[d] > 0);
        }

        var cycle = path.Skip(position[at]).Select(i => Steps[i].Name).ToList();
        cycle.Add(Steps[at].Name);
        return cycle;
    }
}

/// <summary>A step depends by id on a job that does not exist (or that the workflow's creator may not see); nothing was written.</summary>
/// <param name="field">The field path, <c>steps[2].dependsOnJobIds[0]</c>.</param>
/// <param name="jobId">The id no job has.</param>
public sealed class UnknownDependencyException(string field, long jobId)
    : ArgumentException($"{field}: no job has the id {jobId}.")
{
    /// <summary>The field path, as the Api names it.</summary>
    public string Field { get; } = field;

    /// <summary>The id no job has.</summary>
    public long JobId { get; } = jobId;
}

/// <summary>What is wrong with a workflow: the field, what was expected there, and a sentence naming the step when there is one.</summary>
/// <param name="Field">The field path, as the Api names it (<c>steps[2].dependsOn[0]</c>).</param>
/// <param name="Expected">What a valid value looks like.</param>
/// <param name="Detail">A sentence naming the steps involved, or null.</param>
public sealed record WorkflowError(string Field, string Expected, string? Detail);

/// <summary>The outcome of enqueueing a workflow: its id and each step's job, in the order given.</summary>
/// <param name="WorkflowId">The workflow's id (GET /workflows/{id}).</param>
/// <param name="Steps">One per step, in the order given.</param>
public sealed record WorkflowEnqueued(long WorkflowId, IReadOnlyList<WorkflowStepEnqueued> Steps);

/// <summary>A step as enqueued.</summary>
/// <param name="Name">The step's name.</param>
/// <param name="JobId">Its job's id (GET /jobs/{id}).</param>
/// <param name="State"><c>available</c> (no dependencies) or <c>pending</c>.</param>
public sealed record WorkflowStepEnqueued(string Name, long JobId, string State);

/// <summary>A workflow as stored, with every step's current state.</summary>
/// <param name="Id">The workflow's id.</param>
/// <param name="Name">Its name, when given.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="CreatedBy">Who enqueued it.</param>
/// <param name="Steps">Its steps in the order given.</param>
public sealed record WorkflowRecord(long Id, string? Name, DateTimeOffset CreatedAt, string? CreatedBy, IReadOnlyList<WorkflowStepRecord> Steps)
{
    /// <summary>How many steps are in each state; a step whose job finished without history (RetentionPeriod 0) counts as <c>finished</c>.</summary>
    public IReadOnlyDictionary<string, int> CountsByState =>
        Steps.GroupBy(s => s.State ?? "finished").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>Steps in a final state (or gone with their history).</summary>
    public int Finished => Steps.Count(s => s.State is null || JobState.IsFinalized(s.State));

    /// <summary>True when every step is in a final state: nothing of the workflow will run any more.</summary>
    public bool IsFinished => Finished == Steps.Count;
}

/// <summary>One step of a stored workflow.</summary>
/// <param name="Name">The step's name.</param>
/// <param name="JobId">Its job's id.</param>
/// <param name="State">Its job's state; null when the job finished and its Worker keeps no history.</param>
/// <param name="Attempt">Attempts started so far.</param>
/// <param name="DependsOn">The steps it waits for.</param>
/// <param name="DependsOnJobIds">The jobs outside the workflow it waits for.</param>
/// <param name="OnDependencyFailure">What it does when a dependency fails.</param>
/// <param name="LastError">The message of its latest error, when it has one.</param>
/// <param name="FinalizedAt">When it reached its final state, when known.</param>
public sealed record WorkflowStepRecord(
    string Name,
    long JobId,
    string? State,
    short Attempt,
    IReadOnlyList<string> DependsOn,
    IReadOnlyList<long> DependsOnJobIds,
    DependencyFailure OnDependencyFailure,
    string? LastError,
    DateTimeOffset? FinalizedAt);

/// <summary>The outcome of <see cref="JobClient.CancelWorkflowAsync"/>.</summary>
/// <param name="WorkflowId">The workflow's id.</param>
/// <param name="Cancelled">Steps this call cancelled: waiting, available, scheduled or retryable ones (0 when called again).</param>
/// <param name="LeftRunning">Steps running (or starting) at that moment, left to finish as they are.</param>
public sealed record WorkflowCancelResult(long WorkflowId, int Cancelled, int LeftRunning);
