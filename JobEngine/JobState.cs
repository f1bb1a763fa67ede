namespace JobEngine;

/// <summary>
/// The states a job moves through. Runnable: <c>available</c>, <c>scheduled</c>, <c>retryable</c>.
/// Finalized: <c>completed</c>, <c>discarded</c>, <c>cancelled</c>. The names are the ones the
/// database, the API and the tests use.
/// </summary>
public static class JobState
{
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

    /// <summary>Every state, in lifecycle order.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Available, Scheduled, Running, Retryable, Completed, Discarded, Cancelled];

    /// <summary>True for states a job never leaves on its own.</summary>
    public static bool IsFinalized(string state) => state is Completed or Discarded or Cancelled;
}
