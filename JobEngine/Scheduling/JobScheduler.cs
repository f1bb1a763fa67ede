using JobEngine.Running;
using JobEngine.Sql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Scheduling;

/// <summary>
/// Why it exists: recurring jobs must fire exactly once per instant however many workers run,
/// with no leader that could die silently. Every worker runs this loop; for each instant due it
/// inserts (schedule, instant) into <c>jobs.schedule_run</c>, whose primary key lets exactly one
/// worker win, and enqueues the job in the same transaction. Instants missed while no worker ran
/// are enqueued or recorded as skipped, per schedule, inside its catch-up window. Times come from
/// the database clock, so workers with skewed clocks still agree.
/// </summary>
public sealed class JobScheduler(NpgsqlDataSource dataSource, JobClient client, IOptions<JobWorkerOptions> options, TimeProvider time, ILogger<JobScheduler> logger)
{
    private const int MaxInstantsPerPass = 1000;

    // An instant reached within this long of its time is on time; later, it was missed.
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    /// <summary>Writes the configured schedules to the database, then fires them until the token fires.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var schedules = options.Value.Schedules;
        if (schedules.Count == 0)
        {
            return;
        }

        try
        {
            await UpsertAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        await PeriodicWork.RunAsync(TimeSpan.FromSeconds(1), time, FireDueAsync, logger, "Firing schedules failed", stoppingToken, runAtStart: true).ConfigureAwait(false);
    }

    /// <summary>Writes every configured schedule's definition; paused flags and history are kept.</summary>
    public async Task UpsertAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, schedule) in options.Value.Schedules)
        {
            var command = dataSource.CreateCommand(ScheduleSql.UpsertSchedule);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new() { Value = name });
            command.Parameters.Add(new() { Value = schedule.Cron });
            command.Parameters.Add(new() { Value = schedule.TimeZone });
            command.Parameters.Add(new() { Value = schedule.Kind });
            command.Parameters.Add(new() { Value = schedule.Args });
            command.Parameters.Add(new() { Value = schedule.Queue });
            command.Parameters.Add(new() { Value = schedule.CatchUp == CatchUpPolicy.Enqueue ? "enqueue" : "skip" });
            command.Parameters.Add(new() { Value = schedule.CatchUpWindow.TotalMilliseconds });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Fires every instant due since each schedule's last one; returns how many jobs this worker enqueued.</summary>
    public async Task<int> FireDueAsync(CancellationToken cancellationToken)
    {
        var enqueued = 0;
        foreach (var (name, schedule) in options.Value.Schedules)
        {
            enqueued += await FireDueAsync(name, schedule, cancellationToken).ConfigureAwait(false);
        }

        return enqueued;
    }

    private async Task<int> FireDueAsync(string name, ScheduleOptions schedule, CancellationToken cancellationToken)
    {
        var (paused, lastInstant, now) = await ReadStateAsync(name, cancellationToken).ConfigureAwait(false);
        if (paused)
        {
            return 0;
        }

        // A new schedule starts from now: it has no missed past. An old one looks back no further than its window.
        var windowStart = now - schedule.CatchUpWindow;
        var from = lastInstant is { } last ? (last < windowStart ? windowStart : last) : now - Grace;
        if (lastInstant is { } previous && previous < windowStart)
        {
            logger.LogWarning("Schedule {Schedule}: instants between {Last:u} and {WindowStart:u} are older than the catch-up window {Window} and are dropped.",
                name, previous, windowStart, schedule.CatchUpWindow);
        }

        var enqueued = 0;
        var instants = schedule.ParseCron().GetOccurrences(from, now, schedule.FindTimeZone(), fromInclusive: false, toInclusive: true).Take(MaxInstantsPerPass);
        foreach (var instant in instants)
        {
            var missed = now - instant > Grace;
            var skip = missed && schedule.CatchUp == CatchUpPolicy.Skip;
            if (await FireAsync(name, schedule, instant, skip, cancellationToken).ConfigureAwait(false) is { } jobId)
            {
                enqueued++;
                logger.LogInformation(missed ? "Schedule {Schedule}: caught up missed instant {Instant:u} as job {JobId}." : "Schedule {Schedule}: instant {Instant:u} enqueued as job {JobId}.",
                    name, instant, jobId);
            }
            else if (skip)
            {
                logger.LogInformation("Schedule {Schedule}: missed instant {Instant:u} skipped (CatchUp = Skip).", name, instant);
            }
        }

        return enqueued;
    }

    // One transaction: the (schedule, instant) row, then the job. The loser of a race inserts
    // nothing, enqueues nothing, and only moves its view of the schedule forward.
    private async Task<long?> FireAsync(string name, ScheduleOptions schedule, DateTimeOffset instant, bool skip, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        long? jobId = null;
        var record = new NpgsqlCommand(ScheduleSql.RecordScheduleRun, connection, transaction);
        await using (record.ConfigureAwait(false))
        {
            record.Parameters.Add(new() { Value = name });
            record.Parameters.Add(new() { Value = instant });
            record.Parameters.Add(new() { Value = skip ? "skipped" : "enqueued" });
            var won = await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (won && !skip)
            {
                var job = new NewJob(schedule.Kind, schedule.Args) { Queue = schedule.Queue };
                jobId = (await client.EnqueueAsync(job, transaction, cancellationToken).ConfigureAwait(false)).Job.Id;
                var link = new NpgsqlCommand(ScheduleSql.SetScheduleRunJob, connection, transaction);
                await using var linkScope = link.ConfigureAwait(false);
                link.Parameters.Add(new() { Value = name });
                link.Parameters.Add(new() { Value = instant });
                link.Parameters.Add(new() { Value = jobId.Value });
                await link.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var advance = new NpgsqlCommand(ScheduleSql.AdvanceSchedule, connection, transaction);
        await using (advance.ConfigureAwait(false))
        {
            advance.Parameters.Add(new() { Value = name });
            advance.Parameters.Add(new() { Value = instant });
            advance.Parameters.Add(new() { Value = (object?)jobId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            await advance.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return jobId;
    }

    private async Task<(bool Paused, DateTimeOffset? LastInstant, DateTimeOffset Now)> ReadStateAsync(string name, CancellationToken cancellationToken)
    {
        var command = dataSource.CreateCommand(ScheduleSql.SelectScheduleState);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = name });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"Schedule '{name}' is not in jobs.schedule; it is written there when a worker starts.");
        }

        var (paused, lastInstant, now) = (reader.GetOrdinal("paused"), reader.GetOrdinal("last_instant"), reader.GetOrdinal("now"));
        return (reader.GetBoolean(paused), reader.IsDBNull(lastInstant) ? null : reader.GetFieldValue<DateTimeOffset>(lastInstant), reader.GetFieldValue<DateTimeOffset>(now));
    }
}
