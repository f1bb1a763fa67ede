using JobEngine.Sql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: a connection's first claim and first finish cost PostgreSQL about ten times what
/// later ones do (24 ms against 2.5 for the pair: each statement parsed and planned, its tables'
/// catalog entries loaded into that backend, the count triggers' functions compiled), Npgsql sends a
/// statement unprepared until its fifth use on a connection, and the process compiles the code that
/// sends them. A fresh Worker paid all of it on its first jobs: its first starts came late, and
/// several Workers started together spent it while they drained. Before the Worker registers, it
/// opens as many connections as its loops use at once (one per queue and one for the completer)
/// and sends each the claim and the finish round trips with nothing to claim or finish, until both
/// are prepared. Best effort: a warm-up that fails or would wait on a lock is skipped, and the first
/// jobs pay for it as before.
/// </summary>
public sealed class WorkerWarmup(NpgsqlDataSource dataSource, IOptions<JobWorkerOptions> options, ILogger<WorkerWarmup> logger)
{
    // Npgsql prepares a statement at its fifth use on a connection (AutoPrepareMinUsages).
    private const int RoundTrips = 5;

    /// <summary>Warms the claim and finish round trips on fresh connections; never throws but for cancellation.</summary>
    public async Task WarmAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, settings.Queues.Count + 1).Select(_ => WarmConnectionAsync(settings, cancellationToken))).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Skipped warming the claim and finish round trips ({Reason}); the first jobs pay for it.", e.Message);
        }
    }

    private async Task WarmConnectionAsync(JobWorkerOptions settings, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        for (var i = 0; i < RoundTrips; i++)
        {
            foreach (var queue in settings.Queues.Keys)
            {
                await SendAsync(JobProducer.ClaimRoundTrip(connection, queue, settings.Limits.ContainsKey(queue), 0, settings), cancellationToken).ConfigureAwait(false);
            }

            await SendAsync(JobCompleter.OutcomeRoundTrip(connection, [], [], settings), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task SendAsync(NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        await using var batchScope = batch.ConfigureAwait(false);
        batch.BatchCommands.Insert(0, new NpgsqlBatchCommand(JobSql.GiveUpOnLocksSoon));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
