using JobEngine.Sql;
using JobEngine.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: a worker killed with SIGKILL, frozen or cut off leaves jobs in <c>running</c>
/// forever unless someone notices. Every worker looks for expired leases on a short timer and
/// puts those jobs back after the same backoff a failed attempt gets (<see cref="RetryPolicy"/>),
/// or discards them on their last attempt. No leader is needed: the query skips rows another
/// rescuer holds, so any number of workers can run it at once. No index holds running jobs (the
/// claim writes none), so the sweep reads the live table: it runs when some worker has not
/// heartbeated for a lease (<c>jobs.worker</c>), and every
/// <see cref="JobWorkerOptions.RescueBackstopInterval"/> for leases lost while their worker lives
/// on, not on every tick. The backstop's first turn is one interval after start, not at start: a
/// crashed worker's jobs are found through its silent row, and four Workers started on a backlog of
/// 100,000 jobs read it four times over (84 ms of PostgreSQL each) while they drained it.
/// </summary>
public sealed class JobRescuer(NpgsqlDataSource dataSource, IOptions<JobWorkerOptions> options, TimeProvider time, ILogger<JobRescuer> logger)
{
    private const int BatchSize = 1000;

    private DateTimeOffset _backstopDue = time.GetUtcNow() + options.Value.RescueBackstopInterval;

    /// <summary>Rescues until the token fires.</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(options.Value.RescueInterval, time, RescueIfDueAsync, logger, "Looking for expired leases failed", stoppingToken);

    /// <summary>Sweeps when a worker is gone or the backstop is due, then forgets workers gone for two leases.</summary>
    public async Task RescueIfDueAsync(CancellationToken cancellationToken)
    {
        var backstop = time.GetUtcNow() >= _backstopDue;
        if (!backstop && !await AnyWorkerGoneAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await RescueExpiredAsync(cancellationToken).ConfigureAwait(false);
        var forget = dataSource.CreateCommand(WorkerSql.ForgetGoneWorkers);
        await using var forgetScope = forget.ConfigureAwait(false);
        await forget.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (backstop)
        {
            _backstopDue = time.GetUtcNow() + options.Value.RescueBackstopInterval;
        }
    }

    private async Task<bool> AnyWorkerGoneAsync(CancellationToken cancellationToken)
    {
        var command = dataSource.CreateCommand(WorkerSql.AnyWorkerGone);
        await using var commandScope = command.ConfigureAwait(false);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Rescues every job whose lease has expired; returns how many.</summary>
    public async Task<long> RescueExpiredAsync(CancellationToken cancellationToken)
    {
        long total = 0;
        long rescued;
        do
        {
            var command = dataSource.CreateCommand(JobSql.RescueExpiredJobs);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new() { Value = BatchSize });
            command.Parameters.Add(new() { Value = options.Value.Retry.DelaysByAttempt() });
            command.Parameters.Add(new() { Value = options.Value.KeepsHistory });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            rescued = reader.GetFieldValue<long>(reader.GetOrdinal("rescued"));
            JobTelemetry.WorkflowStepsReleased.Add(reader.GetFieldValue<int>(reader.GetOrdinal("released")));
            total += rescued;
        }
        while (rescued == BatchSize);

        if (total > 0)
        {
            logger.LogWarning("Rescued {Count} jobs whose worker stopped renewing their lease.", total);
        }

        return total;
    }
}
