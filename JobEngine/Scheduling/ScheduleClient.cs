using Cronos;
using JobEngine.Sql;
using Npgsql;

namespace JobEngine.Scheduling;

/// <summary>A recurring job as operators see it.</summary>
/// <param name="Name">Its configured name.</param>
/// <param name="Cron">Its cron expression.</param>
/// <param name="TimeZone">The time zone the expression is read in.</param>
/// <param name="Kind">Kind of the jobs it enqueues.</param>
/// <param name="Queue">Queue of those jobs.</param>
/// <param name="Paused">True while an admin has paused it.</param>
/// <param name="CatchUp">What it does with missed instants: <c>enqueue</c> or <c>skip</c>.</param>
/// <param name="LastRunAt">The last instant it reached.</param>
/// <param name="LastJobId">The job its last enqueued instant created.</param>
/// <param name="NextRunAt">The next instant after now, or null when paused.</param>
public sealed record ScheduleInfo(string Name, string Cron, string TimeZone, string Kind, string Queue, bool Paused, string CatchUp,
    DateTimeOffset? LastRunAt, long? LastJobId, DateTimeOffset? NextRunAt);

/// <summary>A queue's limits, shared by every worker (<c>jobs.queue_limit</c>).</summary>
/// <param name="Queue">The queue.</param>
/// <param name="MaxRunning">Most jobs of the queue running at once across workers; null without a cap.</param>
/// <param name="RateLimit">Most starts per <paramref name="RatePeriodMs"/>; null without a rate limit.</param>
/// <param name="RatePeriodMs">The rate limit's window in milliseconds; null without a rate limit.</param>
public sealed record QueueLimitInfo(string Queue, int? MaxRunning, int? RateLimit, long? RatePeriodMs);

/// <summary>
/// Lists, pauses, resumes and runs recurring jobs now, and lists queue limits (both are declared in
/// the Workers' configuration and kept in the tables of the same migration), for the Api and the admin area.
/// </summary>
public sealed class ScheduleClient(NpgsqlDataSource dataSource, TimeProvider time)
{
    private readonly JobClient _jobs = new(dataSource);

    /// <summary>Every schedule known to the database, with its next run.</summary>
    public async Task<IReadOnlyList<ScheduleInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var command = dataSource.CreateCommand(ScheduleSql.SelectSchedules);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var schedules = new List<ScheduleInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var options = new ScheduleOptions { Cron = reader.GetString(reader.GetOrdinal("cron")), TimeZone = reader.GetString(reader.GetOrdinal("time_zone")) };
            var paused = reader.GetBoolean(reader.GetOrdinal("paused"));
            var lastInstant = reader.GetOrdinal("last_instant");
            var lastJobId = reader.GetOrdinal("last_job_id");
            schedules.Add(new ScheduleInfo(
                reader.GetString(reader.GetOrdinal("name")), options.Cron, options.TimeZone, reader.GetString(reader.GetOrdinal("kind")),
                reader.GetString(reader.GetOrdinal("queue")), paused, reader.GetString(reader.GetOrdinal("catch_up")),
                reader.IsDBNull(lastInstant) ? null : reader.GetFieldValue<DateTimeOffset>(lastInstant),
                reader.IsDBNull(lastJobId) ? null : reader.GetInt64(lastJobId),
                paused ? null : NextRun(options)));
        }

        return schedules;
    }

    /// <summary>Stops a schedule from firing; false when no schedule has this name.</summary>
    public Task<bool> PauseAsync(string name, CancellationToken cancellationToken = default) => SetPausedAsync(name, true, cancellationToken);

    /// <summary>Lets a paused schedule fire again; instants missed meanwhile follow its catch-up policy.</summary>
    public Task<bool> ResumeAsync(string name, CancellationToken cancellationToken = default) => SetPausedAsync(name, false, cancellationToken);

    /// <summary>
    /// Enqueues one job of the schedule now (its kind, arguments and queue) and returns its id; null
    /// when no schedule has this name. It is not one of the schedule's instants: no <c>schedule_run</c>
    /// row is written and the next instant still fires, once, as usual. Works on a paused schedule too.
    /// </summary>
    public async Task<long?> RunNowAsync(string name, CancellationToken cancellationToken = default)
    {
        NewJob job;
        var command = dataSource.CreateCommand(ScheduleSql.SelectScheduleJob);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new() { Value = name });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            job = new NewJob(reader.GetString(reader.GetOrdinal("kind")), reader.GetString(reader.GetOrdinal("args"))) { Queue = reader.GetString(reader.GetOrdinal("queue")) };
        }

        return (await _jobs.EnqueueAsync(job, cancellationToken).ConfigureAwait(false)).Job.Id;
    }

    /// <summary>Every queue that has a concurrency cap or a rate limit.</summary>
    public async Task<IReadOnlyList<QueueLimitInfo>> ListQueueLimitsAsync(CancellationToken cancellationToken = default)
    {
        var command = dataSource.CreateCommand(QueueLimitSql.SelectQueueLimits);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var limits = new List<QueueLimitInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            int? Int(string column) => reader.IsDBNull(reader.GetOrdinal(column)) ? null : reader.GetInt32(reader.GetOrdinal(column));
            var period = reader.GetOrdinal("rate_period_ms");
            limits.Add(new QueueLimitInfo(reader.GetString(reader.GetOrdinal("queue")), Int("max_running"), Int("rate_limit"),
                reader.IsDBNull(period) ? null : reader.GetInt64(period)));
        }

        return limits;
    }

    private DateTimeOffset? NextRun(ScheduleOptions options)
    {
        try
        {
            return options.ParseCron().GetNextOccurrence(time.GetUtcNow(), options.FindTimeZone());
        }
        catch (Exception e) when (e is CronFormatException or TimeZoneNotFoundException)
        {
            return null;
        }
    }

    private async Task<bool> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken)
    {
        var command = dataSource.CreateCommand(ScheduleSql.SetSchedulePaused);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = paused });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }
}
