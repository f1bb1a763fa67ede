namespace JobEngine.Running;

/// <summary>
/// How a worker process runs jobs. Bound from the <c>Jobs:Worker</c> configuration section;
/// every default is chosen for a small box and short jobs.
/// </summary>
public sealed class JobWorkerOptions
{
    /// <summary>Who this process is, written on each job it claims. Unique per process.</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Queues to run, each with its concurrency limit in this process (the Worker's appsettings name <c>default</c>).</summary>
    public Dictionary<string, int> Queues { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Global limits per queue, written to the database at start so every worker enforces them.</summary>
    public Dictionary<string, QueueLimit> Limits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Recurring jobs by name, declared here or in code; every worker runs the scheduler, one enqueue per instant.</summary>
    public Dictionary<string, Scheduling.ScheduleOptions> Schedules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Most jobs one claim query takes.</summary>
    public int ClaimBatchSize { get; set; } = 500;

    /// <summary>How long a claimed job is this worker's without a heartbeat; a dead worker's jobs come back after about this long.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Polling period used when no notification arrives (notifications are only a hint).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Wake on PostgreSQL notifications. Turn off behind a transaction-mode pooler, where LISTEN cannot work.</summary>
    public bool UseListenNotify { get; set; } = true;

    /// <summary>How often the listening connection proves it still listens when it has been quiet.</summary>
    public TimeSpan ListenerCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time a job may run when its kind sets no timeout.</summary>
    public TimeSpan DefaultJobTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most outcomes written by one statement.</summary>
    public int CompleteBatchSize { get; set; } = 2000;

    /// <summary>How often the rescuer checks whether a worker stopped heartbeating, and then looks for expired leases.</summary>
    public TimeSpan RescueInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often expired leases are looked for even when every worker heartbeats: a lease lost
    /// while its worker lives on (its outcome could not be written for a whole lease).
    /// </summary>
    public TimeSpan RescueBackstopInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long finalized jobs are kept in <c>jobs.job_history</c>. Retention drops whole day
    /// partitions, so a job stays between this long and a day longer. Zero keeps no history: the
    /// jobs this worker finishes are deleted as they finish (the fastest mode), and GET /jobs/{id},
    /// the listing and the finished counts of GET /stats no longer show them.
    /// </summary>
    public TimeSpan RetentionPeriod { get; set; } = TimeSpan.FromDays(1);

    /// <summary>True unless <see cref="RetentionPeriod"/> is zero: finished jobs are written to the history.</summary>
    public bool KeepsHistory => RetentionPeriod > TimeSpan.Zero;

    /// <summary>How often history partitions are created ahead and dropped past retention.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>On shutdown, how long in-flight jobs may finish before they are cancelled and released.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Backoff between attempts of a failed job.</summary>
    public RetryPolicy Retry { get; set; } = new();

    /// <summary>The checks that catch a configuration no worker can run with.</summary>
    public IEnumerable<string> Problems()
    {
        if (Queues.Count == 0)
        {
            yield return "Jobs:Worker:Queues names no queue";
        }

        foreach (var (queue, concurrency) in Queues.Where(q => q.Value < 1))
        {
            yield return $"Jobs:Worker:Queues:{queue} is {concurrency}; expected a concurrency of at least 1";
        }

        if (RetentionPeriod < TimeSpan.Zero)
        {
            yield return "Jobs:Worker:RetentionPeriod must be zero (keep no history) or positive";
        }

        if (LeaseDuration < TimeSpan.FromSeconds(1))
        {
            yield return "Jobs:Worker:LeaseDuration must be at least one second";
        }

        foreach (var (queue, limit) in Limits)
        {
            if (limit.MaxRunning is < 1 || limit.RateLimit is < 1 || (limit.RateLimit is null) != (limit.RatePeriod is null) || limit.RatePeriod <= TimeSpan.Zero)
            {
                yield return $"Jobs:Worker:Limits:{queue} needs MaxRunning >= 1 and/or RateLimit >= 1 together with a positive RatePeriod";
            }
        }

        foreach (var (name, schedule) in Schedules)
        {
            string? problem = null;
            try
            {
                schedule.ParseCron();
                schedule.FindTimeZone();
            }
            catch (Exception e) when (e is Cronos.CronFormatException or TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
            {
                problem = e.Message;
            }

            if (problem is not null || string.IsNullOrWhiteSpace(schedule.Kind))
            {
                yield return $"Jobs:Worker:Schedules:{name} is invalid: {problem ?? "Kind is required"}";
            }
        }

        if (RescueInterval <= TimeSpan.Zero || RescueBackstopInterval <= TimeSpan.Zero)
        {
            yield return "Jobs:Worker:RescueInterval and RescueBackstopInterval must be positive";
        }

        if (ClaimBatchSize < 1 || CompleteBatchSize < 1)
        {
            yield return "batch sizes must be at least 1";
        }
    }
}
