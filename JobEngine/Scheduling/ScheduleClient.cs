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

/// <summary>Lists, pauses and resumes recurring jobs (for the Api and the admin area).</summary>
public sealed class ScheduleClient(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>Every schedule known to the database, with its next run.</summary>
    public async Task<IReadOnlyList<ScheduleInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(ScheduleSql.SelectSchedules);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var schedules = new List<ScheduleInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var options = new ScheduleOptions { Cron = reader.GetString(1), TimeZone = reader.GetString(2) };
            var paused = reader.GetBoolean(5);
            schedules.Add(new ScheduleInfo(
                reader.GetString(0), options.Cron, options.TimeZone, reader.GetString(3), reader.GetString(4), paused, reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
                reader.IsDBNull(8) ? null : reader.GetInt64(8),
                paused ? null : NextRun(options)));
        }

        return schedules;
    }

    /// <summary>Stops a schedule from firing; false when no schedule has this name.</summary>
    public Task<bool> PauseAsync(string name, CancellationToken cancellationToken = default) => SetPausedAsync(name, true, cancellationToken);

    /// <summary>Lets a paused schedule fire again; instants missed meanwhile follow its catch-up policy.</summary>
    public Task<bool> ResumeAsync(string name, CancellationToken cancellationToken = default) => SetPausedAsync(name, false, cancellationToken);

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
        await using var command = dataSource.CreateCommand(ScheduleSql.SetSchedulePaused);
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = paused });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }
}
