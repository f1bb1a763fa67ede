using Cronos;

namespace JobEngine.Scheduling;

/// <summary>What a schedule does with instants it missed while no worker ran.</summary>
public enum CatchUpPolicy
{
    /// <summary>Enqueue each missed instant inside the catch-up window.</summary>
    Enqueue,
    /// <summary>Record missed instants as skipped and wait for the next one.</summary>
    Skip,
}

/// <summary>One recurring job, bound from <c>Jobs:Schedules:NAME</c>.</summary>
public sealed class ScheduleOptions
{
    /// <summary>Cron expression: five fields, or six with seconds first.</summary>
    public string Cron { get; set; } = "";

    /// <summary>IANA time zone the expression is read in (daylight-saving transitions included).</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Kind of the job enqueued at each instant.</summary>
    public string Kind { get; set; } = "";

    /// <summary>Arguments of that job, a JSON object.</summary>
    public string Args { get; set; } = "{}";

    /// <summary>Queue of that job.</summary>
    public string Queue { get; set; } = NewJob.DefaultQueue;

    /// <summary>Enqueue or skip instants missed while no worker ran.</summary>
    public CatchUpPolicy CatchUp { get; set; } = CatchUpPolicy.Enqueue;

    /// <summary>How far back missed instants are considered; older ones are dropped.</summary>
    public TimeSpan CatchUpWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The parsed expression; throws a <see cref="CronFormatException"/> naming what is wrong.</summary>
    public CronExpression ParseCron() =>
        CronExpression.Parse(Cron, Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);

    /// <summary>The time zone, looked up by its IANA id.</summary>
    public TimeZoneInfo FindTimeZone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}
