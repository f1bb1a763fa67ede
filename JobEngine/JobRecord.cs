using JobEngine.Sql;
using Npgsql;

namespace JobEngine;

/// <summary>A job as stored in <c>jobs.job</c> (live) or <c>jobs.job_history</c> (finalized).</summary>
/// <param name="Id">Database identity.</param>
/// <param name="State">One of <see cref="JobState"/>.</param>
/// <param name="Queue">The queue it runs in.</param>
/// <param name="Kind">Which handler runs it.</param>
/// <param name="ArgsJson">Its arguments, a JSON object.</param>
/// <param name="Priority">0 runs first, 9 last.</param>
/// <param name="Attempt">Attempts started so far.</param>
/// <param name="MaxAttempts">Attempts allowed before it is discarded.</param>
/// <param name="RunAt">When it may run (next retry for a retryable job).</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="AttemptedAt">When the latest attempt started.</param>
/// <param name="FinalizedAt">When it reached a finalized state.</param>
/// <param name="AttemptedBy">The worker of the latest attempt.</param>
/// <param name="ErrorsJson">JSON array of the errors of failed attempts.</param>
/// <param name="IdempotencyKey">The key that keeps it unique while live.</param>
/// <param name="CreatedBy">Who enqueued it (the Api's key name); null when not given.</param>
public sealed record JobRecord(
    long Id,
    string State,
    string Queue,
    string Kind,
    string ArgsJson,
    short Priority,
    short Attempt,
    short MaxAttempts,
    DateTimeOffset RunAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AttemptedAt,
    DateTimeOffset? FinalizedAt,
    string? AttemptedBy,
    string ErrorsJson,
    string? IdempotencyKey,
    string? CreatedBy = null)
{
    /// <summary>Reads a row of the job queries' select lists, each column by its name.</summary>
    internal static JobRecord Read(NpgsqlDataReader reader) => new(
        reader.GetFieldValue<long>(reader.GetOrdinal("id")),
        reader.GetFieldValue<string>(reader.GetOrdinal("state")),
        reader.GetFieldValue<string>(reader.GetOrdinal("queue")),
        reader.GetFieldValue<string>(reader.GetOrdinal("kind")),
        reader.GetFieldValue<string>(reader.GetOrdinal("args")),
        reader.GetFieldValue<short>(reader.GetOrdinal("priority")),
        reader.GetFieldValue<short>(reader.GetOrdinal("attempt")),
        reader.GetFieldValue<short>(reader.GetOrdinal("max_attempts")),
        reader.GetFieldValue<DateTimeOffset>(reader.GetOrdinal("run_at")),
        reader.GetFieldValue<DateTimeOffset>(reader.GetOrdinal("created_at")),
        reader.Nullable<DateTimeOffset>("attempted_at"),
        reader.Nullable<DateTimeOffset>("finalized_at"),
        reader.NullableText("attempted_by"),
        reader.GetFieldValue<string>(reader.GetOrdinal("errors")),
        reader.NullableText("idempotency_key"),
        reader.NullableText("created_by"));
}
