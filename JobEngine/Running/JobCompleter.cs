using System.Threading.Channels;
using JobEngine.Sql;
using JobEngine.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: writing each outcome on its own would cost a round trip and a commit per job,
/// the bottleneck of any queue. Runs hand their outcomes here; one loop writes whatever has piled
/// up since the last write in one statement. Idle, a single outcome is written at once; busy, the
/// batches grow by themselves. A job's slot in its producer frees only when its outcome is written,
/// so a slow database slows claiming instead of piling up outcomes. A failed write is retried,
/// never dropped; if the process dies meanwhile, the lease runs out and the job is rescued.
/// </summary>
public sealed class JobCompleter(NpgsqlDataSource dataSource, RunningJobs runningJobs, IOptions<JobWorkerOptions> options, ILogger<JobCompleter> logger)
{
    private readonly Channel<JobOutcome> _outcomes = Channel.CreateUnbounded<JobOutcome>(new UnboundedChannelOptions { SingleReader = true });

    internal void Submit(JobOutcome outcome) => _outcomes.Writer.TryWrite(outcome);

    /// <summary>No more outcomes will come: <see cref="RunAsync"/> writes what is left and returns.</summary>
    public void Complete() => _outcomes.Writer.TryComplete();

    /// <summary>Writes outcomes until <see cref="Complete"/> was called and all are written, or the token fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var batch = new List<JobOutcome>(options.Value.CompleteBatchSize);
        while (await _outcomes.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // The first outcome of a claim's runs wakes this loop while its siblings still wait in the
            // thread pool's queues. Going to the back of the queue once lets them end first, so one
            // write takes the claim's outcomes instead of its first few; each write has a fixed cost,
            // and a slot frees only when its write lands.
            await Task.Yield();
            while (batch.Count < options.Value.CompleteBatchSize && _outcomes.Reader.TryRead(out var outcome))
            {
                batch.Add(outcome);
            }

            await WriteUntilItLandsAsync(batch, cancellationToken).ConfigureAwait(false);
            foreach (var outcome in batch)
            {
                runningJobs.Remove(outcome.Id, outcome.Attempt);
                outcome.Written?.Invoke();
            }

            batch.Clear();
        }
    }

    private async Task WriteUntilItLandsAsync(List<JobOutcome> batch, CancellationToken cancellationToken)
    {
        var backoff = new RetryBackoff();
        while (true)
        {
            try
            {
                await WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                var delay = backoff.Next();
                logger.LogWarning(e, "Writing {Count} job outcomes failed; retrying in {Delay}.", batch.Count, delay);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteAsync(List<JobOutcome> batch, CancellationToken cancellationToken)
    {
        var finished = batch.Where(o => o.FinalState is not null).OrderBy(o => o.Id).ToList();
        var released = batch.Where(o => o.Kind == OutcomeKind.Released).ToList();
        if (finished.Count == 0 && released.Count == 0)
        {
            return;
        }

        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var npgsqlBatch = OutcomeRoundTrip(connection, finished, released, options.Value);
        await using var npgsqlBatchScope = npgsqlBatch.ConfigureAwait(false);

        // FinishJobs, the one statement of the batch with a 'released' column, says how many
        // waiting workflow steps its finishes made available.
        var reader = await npgsqlBatch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        do
        {
            if (Enumerable.Range(0, reader.FieldCount).Any(i => reader.GetName(i) == "released") && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                JobTelemetry.WorkflowStepsReleased.Add(reader.GetFieldValue<int>(reader.GetOrdinal("released")));
            }
        }
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// The round trip that writes <paramref name="finished"/> (retries among them) and <paramref name="released"/>
    /// on <paramref name="connection"/>. FinishJobs is sent unless only releases are written, so with
    /// nothing to write (<see cref="WorkerWarmup"/>) the round trip is the one a finish sends.
    /// </summary>
    internal static NpgsqlBatch OutcomeRoundTrip(NpgsqlConnection connection, List<JobOutcome> finished, List<JobOutcome> released, JobWorkerOptions options)
    {
        var npgsqlBatch = new NpgsqlBatch(connection);
        npgsqlBatch.BatchCommands.Add(new NpgsqlBatchCommand(JobSql.DisableNestedLoopsForThisTransaction));
        var retries = finished.Where(o => o.Kind == OutcomeKind.Retryable).ToList();
        if (retries.Count > 0)
        {
            var retry = new NpgsqlBatchCommand(JobSql.ScheduleRetries);
            retry.Parameters.Add(new() { Value = retries.Select(o => o.Id).ToArray() });
            retry.Parameters.Add(new() { Value = retries.Select(o => (short)o.Attempt).ToArray() });
            retry.Parameters.Add(new() { Value = retries.Select(o => (long)o.RetryDelay.TotalMilliseconds).ToArray() });
            retry.Parameters.Add(new() { Value = retries.Select(o => o.ErrorJson).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            npgsqlBatch.BatchCommands.Add(retry);
        }

        if (finished.Count > 0 || released.Count == 0)
        {
            var finish = new NpgsqlBatchCommand(JobSql.FinishJobs);
            finish.Parameters.Add(new() { Value = finished.Select(o => o.Id).ToArray() });
            finish.Parameters.Add(new() { Value = finished.Select(o => (short)o.Attempt).ToArray() });
            finish.Parameters.Add(new() { Value = finished.Select(o => o.FinalState!).ToArray() });
            finish.Parameters.Add(new() { Value = finished.Select(o => (long)o.RetryDelay.TotalMilliseconds).ToArray() });
            finish.Parameters.Add(new() { Value = finished.Select(o => o.ErrorJson).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            finish.Parameters.Add(new() { Value = options.KeepsHistory });
            finish.Parameters.Add(new() { Value = finished.Count == 0 ? 0L : finished.Min(o => o.Id) });
            finish.Parameters.Add(new() { Value = finished.Count == 0 ? 0L : finished.Max(o => o.Id) });
            npgsqlBatch.BatchCommands.Add(finish);
        }

        if (released.Count > 0)
        {
            var release = new NpgsqlBatchCommand(JobSql.ReleaseJobs);
            release.Parameters.Add(new() { Value = released.Select(o => o.Id).ToArray() });
            release.Parameters.Add(new() { Value = released.Select(o => (short)o.Attempt).ToArray() });
            npgsqlBatch.BatchCommands.Add(release);
        }

        return npgsqlBatch;
    }
}
