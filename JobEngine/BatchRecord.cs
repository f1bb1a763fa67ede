using JobEngine.Sql;
using Npgsql;

namespace JobEngine;

/// <summary>A batch as stored (<c>jobs.batch</c>, migration 17), with its counts and its callback's state.</summary>
/// <param name="Id">The batch's id.</param>
/// <param name="Name">Its name, when given.</param>
/// <param name="CallbackJobId">Its callback's job id.</param>
/// <param name="CallbackState">The callback's state (<see cref="JobState"/>; <c>pending</c> until the batch fires); null when it finished and its Worker keeps no history.</param>
/// <param name="Total">Jobs added to it.</param>
/// <param name="Completed">Jobs that completed so far.</param>
/// <param name="Discarded">Jobs discarded so far.</param>
/// <param name="Cancelled">Jobs cancelled so far.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="CreatedBy">Who enqueued it.</param>
/// <param name="SealedAt">When it stopped taking jobs.</param>
/// <param name="FiredAt">When its callback was released.</param>
public sealed record BatchRecord(
    long Id,
    string? Name,
    long CallbackJobId,
    string? CallbackState,
    int Total,
    int Completed,
    int Discarded,
    int Cancelled,
    DateTimeOffset CreatedAt,
    string? CreatedBy,
    DateTimeOffset? SealedAt,
    DateTimeOffset? FiredAt)
{
    /// <summary>Jobs finalized so far (each counted once).</summary>
    public int Finished => Completed + Discarded + Cancelled;

    /// <summary>One of <see cref="BatchState"/>.</summary>
    public string State =>
        FiredAt is not null ? BatchState.Fired
        : CallbackState != JobState.Pending ? BatchState.Cancelled
        : SealedAt is null ? BatchState.Open
        : BatchState.Sealed;

    /// <summary>Reads a row of <c>SelectBatch</c>, each column by its name.</summary>
    internal static BatchRecord Read(NpgsqlDataReader reader) => new(
        reader.GetFieldValue<long>(reader.GetOrdinal("id")),
        reader.NullableText("name"),
        reader.GetFieldValue<long>(reader.GetOrdinal("callback_id")),
        reader.NullableText("callback_state"),
        reader.GetFieldValue<int>(reader.GetOrdinal("job_count")),
        reader.GetFieldValue<int>(reader.GetOrdinal("completed")),
        reader.GetFieldValue<int>(reader.GetOrdinal("discarded")),
        reader.GetFieldValue<int>(reader.GetOrdinal("cancelled")),
        reader.GetFieldValue<DateTimeOffset>(reader.GetOrdinal("created_at")),
        reader.NullableText("created_by"),
        reader.Nullable<DateTimeOffset>("sealed_at"),
        reader.Nullable<DateTimeOffset>("fired_at"));
}
