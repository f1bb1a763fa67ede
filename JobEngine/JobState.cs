namespace JobEngine;

/// <summary>
/// The states a job moves through. Waiting for other jobs: <c>pending</c> (a workflow step, kept in
/// <c>jobs.job_pending</c>, never claimed). Runnable: <c>available</c>, <c>scheduled</c>,
/// <c>retryable</c>. Finalized: <c>completed</c>, <c>discarded</c>, <c>cancelled</c>. The names are
/// the ones the database, the API and the tests use.
/// </summary>
public static class JobState
{
    /// <summary>Waiting for its dependencies to finish (a workflow step); no claim reads it.</summary>
    public const string Pending = "pending";
    /// <summary>Ready to run now.</summary>
    public const string Available = "available";
    /// <summary>Waiting for its run-at time.</summary>
    public const string Scheduled = "scheduled";
    /// <summary>Claimed by a worker that holds its lease.</summary>
    public const string Running = "running";
    /// <summary>Failed, with a retry scheduled.</summary>
    public const string Retryable = "retryable";
    /// <summary>Finished successfully.</summary>
    public const string Completed = "completed";
    /// <summary>Failed on its last attempt (dead letter); kept for inspection until pruned.</summary>
    public const string Discarded = "discarded";
    /// <summary>Cancelled before or while running.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Every state of the two job tables (<c>jobs.job</c> and the history), in lifecycle order: the states the listing filters and GET /stats counts.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Available, Scheduled, Running, Retryable, Completed, Discarded, Cancelled];

    /// <summary>Every state a job can be in, <see cref="Pending"/> first, then <see cref="All"/>.</summary>
    public static IReadOnlyList<string> Lifecycle { get; } = [Pending, .. All];

    /// <summary>True for states a job never leaves on its own.</summary>
    public static bool IsFinalized(string state) => state is Completed or Discarded or Cancelled;
}
