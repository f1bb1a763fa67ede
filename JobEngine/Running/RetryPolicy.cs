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

    /// <summary>The delay before the attempt after <paramref name="failedAttempt"/> (1-based).</summary>
    public TimeSpan DelayAfter(int failedAttempt)
    {
        var exponent = Math.Clamp(failedAttempt - 1, 0, 30);
        var delay = Math.Min(BaseDelay.TotalMilliseconds * Math.Pow(2, exponent), MaxDelay.TotalMilliseconds);
        var spread = 1 + (Jitter * ((Random.Shared.NextDouble() * 2) - 1));
        return TimeSpan.FromMilliseconds(Math.Max(0, delay * spread));
    }
}
