using Api.Sql;
using Npgsql;
using NpgsqlTypes;

namespace Api.Jobs;

/// <summary>The filters of one <c>GET /jobs</c> page; each null filter matches everything.</summary>
/// <param name="State">Only jobs in this state.</param>
/// <param name="Queue">Only jobs of this queue.</param>
/// <param name="Kind">Only jobs of this kind.</param>
/// <param name="AfterId">Only jobs older than this id (from the cursor).</param>
/// <param name="Limit">Page size.</param>
public sealed record JobFilter(string? State, string? Queue, string? Kind, long AfterId, int Limit);

/// <summary>
/// The admin listing: newest first, keyset-paginated, one index range scan per page (see
/// <c>ListJobs</c> in Sql/admin.sql). Reads one row more than the page to know if another follows.
/// </summary>
public sealed class JobListing(NpgsqlDataSource dataSource)
{
    /// <summary>One page of jobs matching <paramref name="filter"/>.</summary>
    public async Task<JobPage> ListAsync(JobFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var command = dataSource.CreateCommand(ApiSql.ListJobs);
        command.Parameters.Add(new() { Value = (object?)filter.State ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)filter.Queue ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)filter.Kind ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = filter.AfterId });
        command.Parameters.Add(new() { Value = filter.Limit + 1 });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var items = new List<JobSummary>(filter.Limit + 1);
        var (id, state, queue, kind, priority, attempt, maxAttempts, runAt, createdAt, finalizedAt, lastError) = (
            reader.GetOrdinal("id"), reader.GetOrdinal("state"), reader.GetOrdinal("queue"), reader.GetOrdinal("kind"),
            reader.GetOrdinal("priority"), reader.GetOrdinal("attempt"), reader.GetOrdinal("max_attempts"), reader.GetOrdinal("run_at"),
            reader.GetOrdinal("created_at"), reader.GetOrdinal("finalized_at"), reader.GetOrdinal("last_error"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(new JobSummary(
                reader.GetInt64(id), reader.GetString(state), reader.GetString(queue), reader.GetString(kind), reader.GetInt16(priority),
                reader.GetInt16(attempt), reader.GetInt16(maxAttempts), reader.GetFieldValue<DateTimeOffset>(runAt), reader.GetFieldValue<DateTimeOffset>(createdAt),
                reader.IsDBNull(finalizedAt) ? null : reader.GetFieldValue<DateTimeOffset>(finalizedAt), reader.IsDBNull(lastError) ? null : reader.GetString(lastError)));
        }

        if (items.Count <= filter.Limit)
        {
            return new JobPage(items, null);
        }

        items.RemoveAt(filter.Limit);
        return new JobPage(items, JobCursor.Encode(items[^1].Id));
    }
}
