using System.Text.Json;

namespace JobEngine.Running;

/// <summary>How one run of a job ended.</summary>
internal enum OutcomeKind
{
    /// <summary>The handler returned: the job is completed.</summary>
    Completed,
    /// <summary>The attempt failed and another is left: the job runs again after the retry delay.</summary>
    Retryable,
    /// <summary>The last attempt failed, or the arguments can never work: the job is discarded.</summary>
    Discarded,
    /// <summary>Cancellation was requested while it ran.</summary>
    Cancelled,
    /// <summary>The worker shut down first: the job goes back untouched, its attempt not counted.</summary>
    Released,
    /// <summary>The lease was lost: another worker owns the job now and nothing is written.</summary>
    Abandoned,
}

/// <summary>The <c>job.outcome</c> tag of the job instruments.</summary>
internal static class OutcomeKindTags
{
    /// <summary><paramref name="kind"/> in lower case, without the allocations of <c>ToString().ToLowerInvariant()</c> at every run.</summary>
    public static string TagValue(this OutcomeKind kind) => kind switch
    {
        OutcomeKind.Completed => "completed",
        OutcomeKind.Retryable => "retryable",
        OutcomeKind.Discarded => "discarded",
        OutcomeKind.Cancelled => "cancelled",
        OutcomeKind.Released => "released",
        OutcomeKind.Abandoned => "abandoned",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an outcome."),
    };
}

/// <summary>What one run of a job ended with, waiting to be written by the <see cref="JobCompleter"/>.</summary>
/// <param name="Id">The job.</param>
/// <param name="Attempt">The attempt that ran: the write only lands if the job is still on it.</param>
/// <param name="Kind">How the run ended.</param>
/// <param name="RetryDelay">For a retry, how long until it runs again.</param>
/// <param name="ErrorJson">For a failure, the error entry appended to the job's errors.</param>
internal sealed record JobOutcome(long Id, int Attempt, OutcomeKind Kind, TimeSpan RetryDelay, string? ErrorJson)
{
    private const int MaxMessageLength = 2000;
    private const int MaxStackLength = 4000;

    /// <summary>Called once the outcome is in the database: frees the run's slot in its producer.</summary>
    public Action? Written { get; init; }

    /// <summary>The job state FinishJobs writes, for the outcomes it writes; null for released and abandoned runs.</summary>
    public string? FinalState => Kind switch
    {
        OutcomeKind.Completed => JobState.Completed,
        OutcomeKind.Retryable => JobState.Retryable,
        OutcomeKind.Discarded => JobState.Discarded,
        OutcomeKind.Cancelled => JobState.Cancelled,
        _ => null,
    };

    public static JobOutcome Completed(long id, int attempt) => new(id, attempt, OutcomeKind.Completed, TimeSpan.Zero, null);

    public static JobOutcome Cancelled(long id, int attempt, string workerId) => new(id, attempt, OutcomeKind.Cancelled, TimeSpan.Zero,
        ErrorEntry(attempt, workerId, "Cancelled", "The job was cancelled while running.", null));

    public static JobOutcome Released(long id, int attempt) => new(id, attempt, OutcomeKind.Released, TimeSpan.Zero, null);

    public static JobOutcome Abandoned(long id, int attempt) => new(id, attempt, OutcomeKind.Abandoned, TimeSpan.Zero, null);

    public static JobOutcome Retryable(long id, int attempt, string workerId, Exception error, TimeSpan delay) =>
        new(id, attempt, OutcomeKind.Retryable, delay, ErrorEntry(attempt, workerId, error));

    public static JobOutcome Discarded(long id, int attempt, string workerId, Exception error) =>
        new(id, attempt, OutcomeKind.Discarded, TimeSpan.Zero, ErrorEntry(attempt, workerId, error));

    private static string ErrorEntry(int attempt, string workerId, Exception error) =>
        ErrorEntry(attempt, workerId, error.GetType().FullName ?? error.GetType().Name, error.Message, error.StackTrace);

    // The worker is kept per entry: attempted_by names only the latest attempt's, and an earlier
    // attempt may have run (and failed) on another machine.
    private static string ErrorEntry(int attempt, string workerId, string type, string message, string? stack) =>
        JsonSerializer.Serialize(new
        {
            attempt,
            at = DateTimeOffset.UtcNow,
            worker = workerId,
            type,
            message = Truncate(message, MaxMessageLength),
            stack = stack is null ? null : Truncate(stack, MaxStackLength),
        });

    // PostgreSQL text cannot hold NUL; everything else a handler throws is kept as written.
    private static string Truncate(string text, int max) =>
        (text.Length <= max ? text : text[..max] + "…").Replace("\0", string.Empty, StringComparison.Ordinal);
}
