using JobEngine.Sql;
using Npgsql;
using NpgsqlTypes;

namespace JobEngine;

// Batches (migration 17): jobs and a callback that runs once when every one of them is finalized,
// with the counts in its args. Every change of a batch locks its waiting callback first
// (LockBatchCallback), the row each finisher of a member locks, so changes and finishes take turns.
public sealed partial class JobClient
{
    /// <summary>Enqueues a batch, its jobs and its callback in its own transaction: all or none.</summary>
    /// <exception cref="ArgumentException">The batch is invalid (<see cref="NewBatch.Validate"/>); the message names the field.</exception>
    public Task<BatchEnqueued> EnqueueBatchAsync(NewBatch batch, CancellationToken cancellationToken = default) =>
        InTransactionAsync(transaction => EnqueueBatchAsync(batch, transaction, cancellationToken), cancellationToken);

    /// <summary>
    /// Enqueues a batch inside the caller's transaction: its jobs are available (or scheduled) at
    /// once, its callback waits (<see cref="JobState.Pending"/>) until every job is finalized and the
    /// batch is sealed. An open batch (<see cref="NewBatch.Open"/>) waits for
    /// <see cref="SealBatchAsync"/>; any other is sealed here, and one without jobs fires at once.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is invalid (<see cref="NewBatch.Validate"/>); the message names the field.</exception>
    public async Task<BatchEnqueued> EnqueueBatchAsync(NewBatch batch, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfInvalid(batch.Validate(), nameof(batch));

        var callback = batch.Callback;
        var command = new NpgsqlCommand(JobSql.InsertBatch, ConnectionOf(transaction), transaction);
        long batchId, callbackId;
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new() { Value = (object?)batch.Name ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new() { Value = (object?)batch.CreatedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new() { Value = (object?)CurrentTraceParent() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new() { Value = callback.Queue });
            command.Parameters.Add(new() { Value = callback.Kind });
            command.Parameters.Add(new() { Value = callback.ArgsJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
            command.Parameters.Add(new() { Value = callback.Priority });
            command.Parameters.Add(new() { Value = callback.MaxAttempts });
            command.Parameters.Add(new() { Value = (object?)callback.CreatedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            batchId = reader.GetFieldValue<long>(reader.GetOrdinal("batch_id"));
            callbackId = reader.GetFieldValue<long>(reader.GetOrdinal("callback_id"));
        }

        // Nobody else sees the batch before this transaction commits: no lock is needed to change it.
        IReadOnlyList<long> jobIds = batch.Jobs.Count == 0 ? [] : await AddJobsAsync(batchId, batch.Jobs, transaction, cancellationToken).ConfigureAwait(false);
        var state = batch.Open ? BatchState.Open
            : await SealAsync(batchId, transaction, cancellationToken).ConfigureAwait(false) > 0 ? BatchState.Fired
            : BatchState.Sealed;
        return new BatchEnqueued(batchId, callbackId, state, jobIds);
    }

    /// <summary>Adds jobs to an open batch in their own transaction: all or none.</summary>
    /// <returns>Done with the jobs' ids; NotFound; or Closed (sealed, fired, or its callback cancelled) with nothing written.</returns>
    /// <exception cref="ArgumentException">A job is invalid (<see cref="NewBatch.ValidateJobs"/>); the message names it.</exception>
    public Task<BatchChange> AddToBatchAsync(long batchId, IReadOnlyList<NewJob> jobs, CancellationToken cancellationToken = default) =>
        InTransactionAsync(transaction => AddToBatchAsync(batchId, jobs, transaction, cancellationToken), cancellationToken);

    /// <summary>
    /// Adds jobs to an open batch inside the caller's transaction: they run at once (or at their
    /// run-at time) and the batch's callback waits for them too. A batch that is sealed, fired, or
    /// whose callback was cancelled takes none.
    /// </summary>
    /// <returns>Done with the jobs' ids; NotFound; or Closed (sealed, fired, or its callback cancelled) with nothing written.</returns>
    /// <exception cref="ArgumentException">A job is invalid (<see cref="NewBatch.ValidateJobs"/>); the message names it.</exception>
    public async Task<BatchChange> AddToBatchAsync(long batchId, IReadOnlyList<NewJob> jobs, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfInvalid(NewBatch.ValidateJobs(jobs, minimum: 1), nameof(jobs));

        await ExecuteAsync(JobSql.LockBatchCallback, batchId, transaction, cancellationToken).ConfigureAwait(false);
        var jobIds = await AddJobsAsync(batchId, jobs, transaction, cancellationToken).ConfigureAwait(false);
        var batch = await SelectBatchAsync(batchId, transaction, cancellationToken).ConfigureAwait(false);
        return new BatchChange(
            batch is null ? BatchChangeOutcome.NotFound : jobIds.Count > 0 ? BatchChangeOutcome.Done : BatchChangeOutcome.Closed,
            batch,
            jobIds);
    }

    /// <summary>
    /// Seals a batch: it takes no more jobs, and its callback fires as soon as every job is
    /// finalized (at once when they all are, or when it has none). Sealing a sealed or fired batch
    /// changes nothing and is done as well.
    /// </summary>
    /// <returns>Done with the batch as it is now, or NotFound.</returns>
    public Task<BatchChange> SealBatchAsync(long batchId, CancellationToken cancellationToken = default) =>
        InTransactionAsync(async transaction =>
        {
            await ExecuteAsync(JobSql.LockBatchCallback, batchId, transaction, cancellationToken).ConfigureAwait(false);
            await SealAsync(batchId, transaction, cancellationToken).ConfigureAwait(false);
            var batch = await SelectBatchAsync(batchId, transaction, cancellationToken).ConfigureAwait(false);
            return new BatchChange(batch is null ? BatchChangeOutcome.NotFound : BatchChangeOutcome.Done, batch, []);
        }, cancellationToken);

    /// <summary>The batch with this id, its counts and its callback's state, or null.</summary>
    public Task<BatchRecord?> GetBatchAsync(long id, CancellationToken cancellationToken = default) =>
        InTransactionAsync(transaction => SelectBatchAsync(id, transaction, cancellationToken), cancellationToken);

    // AddBatchJobs: the ids of the jobs added, in the order given; none when the batch is not open.
    private static async Task<IReadOnlyList<long>> AddJobsAsync(long batchId, IReadOnlyList<NewJob> jobs, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(JobSql.AddBatchJobs, ConnectionOf(transaction), transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = batchId });
        command.Parameters.Add(new() { Value = (object?)CurrentTraceParent() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        AddJobArrays(command, jobs);
        command.Parameters.Add(new() { Value = jobs.Select(j => j.CreatedBy).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var ids = new List<long>(jobs.Count);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetFieldValue<long>(reader.GetOrdinal("id")));
        }

        return ids;
    }

    // SealBatch, then (its own statement, whose snapshot sees the seal) ReleaseBatchCallback and
    // SelectCallbackFired in one round trip when this call sealed the batch. Returns 1 when the
    // callback fired, else 0.
    private static async Task<int> SealAsync(long batchId, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(JobSql.SealBatch, ConnectionOf(transaction), transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = batchId });
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long callbackId)
        {
            return 0;
        }

        var release = new NpgsqlBatch(ConnectionOf(transaction), transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(JobSql.ReleaseBatchCallback) { Parameters = { new() { Value = callbackId } } },
                new NpgsqlBatchCommand(JobSql.SelectCallbackFired) { Parameters = { new() { Value = callbackId } } },
            },
        };
        await using var releaseScope = release.ConfigureAwait(false);
        var reader = await release.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return reader.GetBoolean(reader.GetOrdinal("fired")) ? 1 : 0;
    }

    private static async Task<BatchRecord?> SelectBatchAsync(long batchId, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(JobSql.SelectBatch, ConnectionOf(transaction), transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = batchId });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? BatchRecord.Read(reader) : null;
    }

    private static async Task ExecuteAsync(string sql, long id, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, ConnectionOf(transaction), transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = id });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void ThrowIfInvalid(JobFieldError? error, string parameter)
    {
        if (error is not null)
        {
            throw new ArgumentException($"The batch is invalid: {error.Field}: expected {error.Expected}.", parameter);
        }
    }
}
