using System.Text.Json;
using JobEngine;

namespace Api.Jobs;

/// <summary>A job as the Api shows it: its state, attempts, errors (one entry per failed attempt) and timestamps.</summary>
/// <param name="Id">Its id.</param>
/// <param name="State">available, scheduled, running, retryable, completed, discarded or cancelled.</param>
/// <param name="Queue">Its queue.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Args">Its arguments.</param>
/// <param name="Priority">0 runs first, 9 last.</param>
/// <param name="Attempt">Attempts started.</param>
/// <param name="MaxAttempts">Attempts allowed.</param>
/// <param name="RunAt">When it may run next.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="AttemptedAt">When its latest attempt started.</param>
/// <param name="FinalizedAt">When it finished.</param>
/// <param name="AttemptedBy">The worker of its latest attempt.</param>
/// <param name="Errors">The errors of its failed attempts, oldest first.</param>
/// <param name="IdempotencyKey">Its idempotency key, as its producer sent it.</param>
/// <param name="CreatedBy">The name of the API key that enqueued it; null when enqueued outside the Api.</param>
public sealed record JobView(
    long Id, string State, string Queue, string Kind, JsonElement Args, short Priority, short Attempt, short MaxAttempts,
    DateTimeOffset RunAt, DateTimeOffset CreatedAt, DateTimeOffset? AttemptedAt, DateTimeOffset? FinalizedAt,
    string? AttemptedBy, JsonElement Errors, string? IdempotencyKey, string? CreatedBy)
{
    /// <summary>The view of <paramref name="job"/>, enqueued by <paramref name="createdBy"/>.</summary>
    public static JobView From(JobRecord job, string? createdBy)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new(job.Id, job.State, job.Queue, job.Kind, JsonSerializer.Deserialize<JsonElement>(job.ArgsJson), job.Priority, job.Attempt,
            job.MaxAttempts, job.RunAt, job.CreatedAt, job.AttemptedAt, job.FinalizedAt, job.AttemptedBy,
            JsonSerializer.Deserialize<JsonElement>(job.ErrorsJson), global::Api.Jobs.IdempotencyKey.ForClient(job.IdempotencyKey, createdBy), createdBy);
    }
}

/// <summary>One page of <c>GET /jobs</c>, newest first.</summary>
/// <param name="Items">The jobs of this page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last page.</param>
public sealed record JobPage(IReadOnlyList<JobSummary> Items, string? NextCursor);

/// <summary>A job in a listing: enough to find it, without its arguments.</summary>
/// <param name="Id">Its id.</param>
/// <param name="State">Its state.</param>
/// <param name="Queue">Its queue.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Priority">0 runs first, 9 last.</param>
/// <param name="Attempt">Attempts started.</param>
/// <param name="MaxAttempts">Attempts allowed.</param>
/// <param name="RunAt">When it may run next.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="FinalizedAt">When it finished.</param>
/// <param name="LastError">The message of its latest error.</param>
public sealed record JobSummary(
    long Id, string State, string Queue, string Kind, short Priority, short Attempt, short MaxAttempts,
    DateTimeOffset RunAt, DateTimeOffset CreatedAt, DateTimeOffset? FinalizedAt, string? LastError);
