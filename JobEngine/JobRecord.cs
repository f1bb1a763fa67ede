using Npgsql;

namespace JobEngine;

/// <summary>A job as stored in <c>jobs.job</c>.</summary>
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
    string? IdempotencyKey)
{
    /// <summary>Reads a row whose columns are in the order of the job queries' select lists.</summary>
    internal static JobRecord Read(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetString(4),
        reader.GetInt16(5),
        reader.GetInt16(6),
        reader.GetInt16(7),
        reader.GetFieldValue<DateTimeOffset>(8),
        reader.GetFieldValue<DateTimeOffset>(9),
        reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
        reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
        reader.IsDBNull(12) ? null : reader.GetString(12),
        reader.GetString(13),
        reader.IsDBNull(14) ? null : reader.GetString(14));
}
