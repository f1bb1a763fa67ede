using JobEngine.Scheduling;
using JobEngine.Sql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// The worker as a hosted service: one producer per configured queue, plus the notifier, the
/// completer, the lease keeper, the rescuer and the pruner. On stop it claims nothing more, lets
/// running jobs finish for up to the drain timeout, then cancels the rest and gives them back
/// (released, attempt not counted) before the last outcomes are written.
/// </summary>
public sealed class JobWorkerService(
    NpgsqlDataSource dataSource,
    IOptions<JobWorkerOptions> options,
    JobHandlerRegistry handlers,
    RunningJobs runningJobs,
    JobNotifier notifier,
    JobCompleter completer,
    LeaseKeeper leaseKeeper,
    JobRescuer rescuer,
    JobPruner pruner,
    JobScheduler scheduler,
    WorkerRegistration registration,
    WorkerWarmup warmup,
    IServiceScopeFactory scopes,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<JobWorkerService>();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var problems = settings.Problems().ToList();
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(nameof(JobWorkerOptions), typeof(JobWorkerOptions), problems);
        }

        HashSet<string> limited;
        try
        {
            // Before the first heartbeat: a registered worker is one that claims at full speed.
            await warmup.WarmAsync(stoppingToken).ConfigureAwait(false);
            limited = await RegisterAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The first heartbeat may have committed before the stop landed: leaving its row would
            // keep this worker counted as alive, holding its kinds, until the rescuers forget it.
            await RemoveWorkerAsync().ConfigureAwait(false);
            _logger.LogInformation("Worker {WorkerId} stopped while registering.", settings.WorkerId);
            return;
        }

        registration.MarkRegistered();
        var producers = settings.Queues.Select(q => new JobProducer(
            q.Key, q.Value, limited.Contains(q.Key), dataSource, settings, handlers, runningJobs, completer, scopes,
            loggerFactory.CreateLogger($"{typeof(JobProducer).FullName}[{q.Key}]"))).ToList();
        foreach (var producer in producers)
        {
            notifier.OnInserted(producer.Queue, producer.Wake);
        }

        _logger.LogInformation("Worker {WorkerId} runs queues {Queues} with kinds {Kinds}.",
            settings.WorkerId, string.Join(", ", settings.Queues.Select(q => $"{q.Key} (x{q.Value})")), string.Join(", ", handlers.Kinds));

        // Housekeeping outlives the producers: leases must be renewed while running jobs drain.
        using var housekeepingStop = new CancellationTokenSource();
        var completing = completer.RunAsync(CancellationToken.None);
        var housekeeping = Task.WhenAll(
            notifier.RunAsync(housekeepingStop.Token),
            leaseKeeper.RunAsync(housekeepingStop.Token),
            rescuer.RunAsync(housekeepingStop.Token),
            pruner.RunAsync(housekeepingStop.Token),
            scheduler.RunAsync(housekeepingStop.Token));

        await Task.WhenAll(producers.Select(p => p.RunAsync(stoppingToken))).ConfigureAwait(false);

        _logger.LogInformation("Stopping: no more claims; waiting up to {DrainTimeout} for {Count} running jobs.", settings.DrainTimeout, runningJobs.Count);
        var drained = await WaitForRunsAsync(producers, settings.DrainTimeout).ConfigureAwait(false);
        if (!drained)
        {
            var left = runningJobs.Snapshot();
            _logger.LogWarning("Drain timeout passed; cancelling and releasing {Count} running jobs.", left.Count);
            foreach (var job in left)
            {
                job.Stop(StopReason.Shutdown);
            }

            if (!await WaitForRunsAsync(producers, TimeSpan.FromSeconds(5)).ConfigureAwait(false))
            {
                _logger.LogWarning("Some handlers ignore cancellation; their leases will expire and another worker will rescue them.");
            }
        }

        completer.Complete();
        await completing.ConfigureAwait(false);
        await housekeepingStop.CancelAsync().ConfigureAwait(false);
        await housekeeping.ConfigureAwait(false);
        if (runningJobs.Count == 0)
        {
            await RemoveWorkerAsync().ConfigureAwait(false);
        }

        _logger.LogInformation("Worker {WorkerId} stopped.", settings.WorkerId);
    }

    private static async Task<bool> WaitForRunsAsync(List<JobProducer> producers, TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout);
        try
        {
            await Task.WhenAll(producers.Select(p => p.WaitForRunsAsync(timer.Token))).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // This worker's configured limits become everyone's; then it learns which of its queues
    // carry a limit from any worker, and claims those through the capped path.
    private async Task<HashSet<string>> WriteQueueLimitsAsync(CancellationToken cancellationToken)
    {
        foreach (var (queue, limit) in options.Value.Limits)
        {
            var upsert = dataSource.CreateCommand(QueueLimitSql.UpsertQueueLimit);
            await using var upsertScope = upsert.ConfigureAwait(false);
            upsert.Parameters.Add(new() { Value = queue });
            upsert.Parameters.Add(new() { Value = (object?)limit.MaxRunning ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            upsert.Parameters.Add(new() { Value = (object?)limit.RateLimit ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            upsert.Parameters.Add(new() { Value = (object?)limit.RatePeriod?.TotalMilliseconds ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Double });
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var select = dataSource.CreateCommand(QueueLimitSql.SelectLimitedQueues);
        await using var selectScope = select.ConfigureAwait(false);
        select.Parameters.Add(new() { Value = options.Value.Queues.Keys.ToArray() });
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var limited = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            limited.Add(reader.GetString(reader.GetOrdinal("queue")));
        }

        return limited;
    }

    // A worker may start while PostgreSQL restarts or fails over: it waits for the database like
    // every other loop does, instead of exiting and leaving that to whoever restarts processes.
    // Both writes are upserts, so a retry after a connection cut halfway repeats them safely.
    private async Task<HashSet<string>> RegisterAsync(CancellationToken cancellationToken)
    {
        var backoff = new RetryBackoff();
        while (true)
        {
            try
            {
                await RegisterKindsAsync(cancellationToken).ConfigureAwait(false);
                return await WriteQueueLimitsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                var delay = backoff.Next();
                _logger.LogWarning(e, "Registering the kinds and queue limits of worker {WorkerId} failed; nothing is claimed until it lands, retrying in {Delay}.", options.Value.WorkerId, delay);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // The first heartbeat goes with the kinds, before anything is claimed: a worker that dies
    // after its first claim is always known to the rescuers.
    private async Task RegisterKindsAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection);
        await using var batchScope = batch.ConfigureAwait(false);
        var kinds = new NpgsqlBatchCommand(JobSql.RegisterKinds);
        kinds.Parameters.Add(new() { Value = handlers.Kinds.ToArray() });
        kinds.Parameters.Add(new() { Value = options.Value.WorkerId });
        batch.BatchCommands.Add(kinds);
        batch.BatchCommands.Add(LeaseKeeper.RecordHeartbeat(options.Value));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // Best effort: a row left behind is forgotten by the rescuers two leases later.
    private async Task RemoveWorkerAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var command = dataSource.CreateCommand(WorkerSql.RemoveWorker);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new() { Value = options.Value.WorkerId });
            await command.ExecuteNonQueryAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning(e, "Could not remove worker {WorkerId} from jobs.worker; the rescuers forget it two leases from now.", options.Value.WorkerId);
        }
    }
}
