using JobEngine.Sql;
using Npgsql;

namespace JobEngine.Queues;

/// <summary>A paused queue: since when, and who paused it.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="PausedAt">When it was paused.</param>
/// <param name="PausedBy">Who paused it (an API key name), when known.</param>
public sealed record PausedQueue(string Queue, DateTimeOffset PausedAt, string? PausedBy);

/// <summary>
/// Why it exists: an operator needs to stop a queue without losing its jobs (a downstream system
/// is down, a deploy is half done). A paused queue is a row of <c>jobs.queue_pause</c>, which every
/// Worker's claim reads, so the pause holds across all Workers at once; jobs keep being accepted
/// and wait. Resuming wakes the queue's Workers.
/// </summary>
public sealed class QueuePauses(NpgsqlDataSource dataSource)
{
    /// <summary>Pauses <paramref name="queue"/>; true when this call paused it, false when it already was.</summary>
    public async Task<bool> PauseAsync(string queue, string? pausedBy, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalid(queue);
        var command = dataSource.CreateCommand(QueuePauseSql.PauseQueue);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = queue });
        command.Parameters.Add(new() { Value = (object?)pausedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
    }

    /// <summary>Resumes <paramref name="queue"/>; true when this call resumed it, false when it was not paused.</summary>
    public async Task<bool> ResumeAsync(string queue, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalid(queue);
        var command = dataSource.CreateCommand(QueuePauseSql.ResumeQueue);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = queue });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return reader.GetInt64(reader.GetOrdinal("resumed_now")) > 0;
    }

    /// <summary>Every paused queue, by name.</summary>
    public async Task<IReadOnlyList<PausedQueue>> ListAsync(CancellationToken cancellationToken = default)
    {
        var command = dataSource.CreateCommand(QueuePauseSql.SelectPausedQueues);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var paused = new List<PausedQueue>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var by = reader.GetOrdinal("paused_by");
            paused.Add(new(reader.GetString(reader.GetOrdinal("queue")), reader.GetFieldValue<DateTimeOffset>(reader.GetOrdinal("paused_at")),
                reader.IsDBNull(by) ? null : reader.GetString(by)));
        }

        return paused;
    }

    private static void ThrowIfInvalid(string queue)
    {
        if (!NewJob.IsValidQueue(queue))
        {
            throw new ArgumentException($"A queue name has 1 to {NewJob.MaxQueueLength} characters and no control characters.", nameof(queue));
        }
    }
}
