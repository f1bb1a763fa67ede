namespace JobEngine.Running;

/// <summary>
/// When a failed job runs again: exponential backoff from <see cref="BaseDelay"/>, capped at
/// <see cref="MaxDelay"/>, spread by ±<see cref="Jitter"/> so a burst of failures does not
/// come back as a burst.
/// </summary>
public sealed class RetryPolicy
{
    /// <summary>Delay after the first failed attempt.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between attempts.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Fraction of the delay added or removed at random, 0 to 1.</summary>
    public double Jitter { get; set; } = 0.2;

    // Past this many doublings every delay is MaxDelay (2^30 seconds is longer than any cap).
    private const int MaxExponent = 30;

    /// <summary>The delay before the attempt after <paramref name="failedAttempt"/> (1-based).</summary>
    public TimeSpan DelayAfter(int failedAttempt)
    {
        var exponent = Math.Clamp(failedAttempt - 1, 0, MaxExponent);
        var delay = Math.Min(BaseDelay.TotalMilliseconds * Math.Pow(2, exponent), MaxDelay.TotalMilliseconds);
        var spread = 1 + (Jitter * ((Random.Shared.NextDouble() * 2) - 1));
        return TimeSpan.FromMilliseconds(Math.Max(0, delay * spread));
    }

    /// <summary>
    /// <see cref="DelayAfter"/> in milliseconds for failed attempts 1, 2, ... (index 0 is attempt 1),
    /// the last entry standing for every later attempt: the rescue statement picks a lost
    /// attempt's delay from it, so a rescued job backs off exactly as a failed one does.
    /// </summary>
    public long[] DelaysByAttempt() =>
        [.. Enumerable.Range(1, MaxExponent + 1).Select(attempt => (long)DelayAfter(attempt).TotalMilliseconds)];
}
