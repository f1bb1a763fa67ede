using Api.Sql;
using Npgsql;
using NpgsqlTypes;

namespace Api.Jobs;

/// <summary>The filter of one <c>GET /workflows</c> page.</summary>
/// <param name="Name">Only workflows of this name; null for all.</param>
/// <param name="AfterId">Only workflows older than this id (from the cursor).</param>
/// <param name="Limit">Page size.</param>
public sealed record WorkflowFilter(string? Name, long AfterId, int Limit);

/// <summary>
/// The admin listing of workflows: newest first, keyset-paginated (the cursor is a
/// <see cref="JobCursor"/> of the last workflow id), each with its progress counted from its steps
/// (see <c>ListWorkflows</c> in Sql/admin.sql). Reads one row more than the page to know if another follows.
/// </summary>
public sealed class WorkflowListing(NpgsqlDataSource dataSource)
{
    /// <summary>One page of workflows matching <paramref name="filter"/>.</summary>
    public async Task<WorkflowPage> ListAsync(WorkflowFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var command = dataSource.CreateCommand(ApiSql.ListWorkflows);
        command.Parameters.Add(new() { Value = (object?)filter.Name ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = filter.AfterId });
        command.Parameters.Add(new() { Value = filter.Limit + 1 });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var items = new List<WorkflowSummary>(filter.Limit + 1);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetOrdinal("name");
            var createdBy = reader.GetOrdinal("created_by");
            var total = reader.GetInt32(reader.GetOrdinal("step_count"));
            var pending = (int)reader.GetInt64(reader.GetOrdinal("pending"));
            var available = (int)reader.GetInt64(reader.GetOrdinal("available"));
            var scheduled = (int)reader.GetInt64(reader.GetOrdinal("scheduled"));
            var running = (int)reader.GetInt64(reader.GetOrdinal("running"));
            var retryable = (int)reader.GetInt64(reader.GetOrdinal("retryable"));
            items.Add(new WorkflowSummary(
                reader.GetInt64(reader.GetOrdinal("id")),
                reader.IsDBNull(name) ? null : reader.GetString(name),
                reader.GetFieldValue<DateTimeOffset>(reader.GetOrdinal("created_at")),
                reader.IsDBNull(createdBy) ? null : reader.GetString(createdBy),
                new WorkflowListProgress(total, total - pending - available - scheduled - running - retryable, pending, available, scheduled, running, retryable)));
        }

        if (items.Count <= filter.Limit)
        {
            return new WorkflowPage(items, null);
        }

        items.RemoveAt(filter.Limit);
        return new WorkflowPage(items, JobCursor.Encode(items[^1].Id));
    }
}

/// <summary>One page of <c>GET /workflows</c>.</summary>
/// <param name="Items">Workflows, newest first.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last one.</param>
public sealed record WorkflowPage(IReadOnlyList<WorkflowSummary> Items, string? NextCursor);

/// <summary>A workflow in the listing.</summary>
/// <param name="Id">Its id (GET /workflows/{id}).</param>
/// <param name="Name">Its name, when given.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="CreatedBy">The API key that enqueued it.</param>
/// <param name="Progress">How far it is.</param>
public sealed record WorkflowSummary(long Id, string? Name, DateTimeOffset CreatedAt, string? CreatedBy, WorkflowListProgress Progress);

/// <summary>How far a listed workflow is: its steps still to run, per state, and those that finished (however they ended).</summary>
/// <param name="Total">Its steps.</param>
/// <param name="Finished">Steps in a final state: completed, discarded or cancelled.</param>
/// <param name="Pending">Steps waiting for their dependencies.</param>
/// <param name="Available">Steps ready to run.</param>
/// <param name="Scheduled">Steps due later.</param>
/// <param name="Running">Steps running.</param>
/// <param name="Retryable">Steps waiting to retry.</param>
public sealed record WorkflowListProgress(int Total, int Finished, int Pending, int Available, int Scheduled, int Running, int Retryable);
