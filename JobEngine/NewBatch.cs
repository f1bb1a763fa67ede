using System.Text.Json;

namespace JobEngine;

/// <summary>
/// A batch to enqueue: jobs, and a callback job that runs once when every one of them is finalized
/// (completed, discarded or cancelled), with the counts merged into its args under
/// <see cref="BatchOutcome.ArgsKey"/> (<see cref="BatchOutcome"/>). An <see cref="Open"/> batch takes
/// more jobs (<see cref="JobClient.AddToBatchAsync(long, IReadOnlyList{NewJob}, CancellationToken)"/>)
/// and its callback cannot run until it is sealed (<see cref="JobClient.SealBatchAsync"/>); any
/// other batch is sealed as it is enqueued. A sealed batch without jobs fires its callback at once.
/// </summary>
/// <param name="Callback">The job that runs once the batch is done. It takes no run-at time and no idempotency key.</param>
/// <param name="Jobs">The batch's jobs, 0 to <see cref="MaxJobs"/>; each an ordinary job, but without an idempotency key.</param>
public sealed record NewBatch(NewJob Callback, IReadOnlyList<NewJob> Jobs)
{
    /// <summary>Most jobs in one call (the batch's creation, or one addition to it).</summary>
    public const int MaxJobs = 20_000;
    /// <summary>Longest batch name, in characters.</summary>
    public const int MaxNameLength = 200;

    /// <summary>An optional name shown by GET /batches/{id}.</summary>
    public string? Name { get; init; }

    /// <summary>True to leave the batch open for more jobs; its callback waits until it is sealed.</summary>
    public bool Open { get; init; }

    /// <summary>Who enqueues it (the Api writes its API key's name), stored with the batch and each of its jobs.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>The first thing wrong with this batch (the field, as the Api names it, and what was expected there), or null when it can be enqueued.</summary>
    public JobFieldError? Validate()
    {
        if (Name is { } name && (name.Length is 0 or > MaxNameLength || name.Any(char.IsControl)))
        {
            return new("name", $"1 to {MaxNameLength} characters without control characters");
        }

        if (Callback is null)
        {
            return new("callback", "a job");
        }

        if (Callback.Validate() is [var first, ..])
        {
            return new($"callback.{first.Field}", first.Expected);
        }

        if (Callback.RunAt is not null)
        {
            return new("callback.runAt", "no run-at time: the callback runs when its batch is done");
        }

        if (Callback.IdempotencyKey is not null)
        {
            return new("callback.idempotencyKey", "no idempotency key: a batch's callback has none");
        }

        using var args = JsonDocument.Parse(Callback.ArgsJson);
        return args.RootElement.TryGetProperty(BatchOutcome.ArgsKey, out _)
            ? new($"callback.args.{BatchOutcome.ArgsKey}", $"no '{BatchOutcome.ArgsKey}' field: the batch's counts are merged there")
            : ValidateJobs(Jobs, minimum: 0);
    }

    /// <summary>
    /// The first thing wrong with jobs sent to a batch (<c>jobs[3].priority</c> and what was expected),
    /// or null: <paramref name="minimum"/> to <see cref="MaxJobs"/> valid jobs without idempotency keys.
    /// </summary>
    public static JobFieldError? ValidateJobs(IReadOnlyList<NewJob>? jobs, int minimum)
    {
        if (jobs is null || jobs.Count < minimum || jobs.Count > MaxJobs)
        {
            return new("jobs", $"an array of {minimum} to {MaxJobs} jobs");
        }

        for (var i = 0; i < jobs.Count; i++)
        {
            if (jobs[i] is not { } job)
            {
                return new($"jobs[{i}]", "a job");
            }

            if (job.Validate() is [var first, ..])
            {
                return new($"jobs[{i}].{first.Field}", first.Expected);
            }

            if (job.IdempotencyKey is not null)
            {
                return new($"jobs[{i}].idempotencyKey", "no idempotency key: a batch's job has none");
            }
        }

        return null;
    }
}
