using System.Text.Json;

namespace JobEngine.Running;

/// <summary>What one run of a job ended with, waiting to be written by the <see cref="JobCompleter"/>.</summary>
/// <param name="Id">The job.</param>
/// <param name="Attempt">The attempt that ran: the write only lands if the job is still on it.</param>
/// <param name="State">The new state; null to write nothing (lease lost) and <c>released</c> to give the job back.</param>
/// <param name="RetryDelay">For a retry, how long until it runs again.</param>
/// <param name="ErrorJson">For a failure, the error entry appended to the job's errors.</param>
internal sealed record JobOutcome(long Id, int Attempt, string? State, TimeSpan RetryDelay, string? ErrorJson)
{
    public const string ReleasedState = "released";

    /// <summary>Called once the outcome is in the database: frees the run's slot in its producer.</summary>
    public Action? Written { get; init; }
    private const int MaxMessageLength = 2000;
    private const int MaxStackLength = 4000;

    public static JobOutcome Completed(long id, int attempt) => new(id, attempt, JobState.Completed, TimeSpan.Zero, null);

    public static JobOutcome Cancelled(long id, int attempt) => new(id, attempt, JobState.Cancelled, TimeSpan.Zero,
        ErrorEntry(attempt, "Cancelled", "The job was cancelled while running.", null));

    public static JobOutcome Released(long id, int attempt) => new(id, attempt, ReleasedState, TimeSpan.Zero, null);

    public static JobOutcome Abandoned(long id, int attempt) => new(id, attempt, null, TimeSpan.Zero, null);

    public static JobOutcome Retryable(long id, int attempt, Exception error, TimeSpan delay) =>
        new(id, attempt, JobState.Retryable, delay, ErrorEntry(attempt, error));

    public static JobOutcome Discarded(long id, int attempt, Exception error) =>
        new(id, attempt, JobState.Discarded, TimeSpan.Zero, ErrorEntry(attempt, error));

    private static string ErrorEntry(int attempt, Exception error) =>
        ErrorEntry(attempt, error.GetType().FullName ?? error.GetType().Name, error.Message, error.StackTrace);

    private static string ErrorEntry(int attempt, string type, string message, string? stack) =>
        JsonSerializer.Serialize(new
        {
            attempt,
            at = DateTimeOffset.UtcNow,
            type,
            message = Truncate(message, MaxMessageLength),
            stack = stack is null ? null : Truncate(stack, MaxStackLength),
        });

    // PostgreSQL text cannot hold NUL; everything else a handler throws is kept as written.
    private static string Truncate(string text, int max) =>
        (text.Length <= max ? text : text[..max] + "…").Replace("\0", string.Empty, StringComparison.Ordinal);
}
