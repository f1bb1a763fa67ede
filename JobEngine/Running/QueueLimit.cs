namespace JobEngine.Running;

/// <summary>
/// A global limit on one queue, shared by every worker through <c>jobs.queue_limit</c> and
/// enforced at claim time: at most <see cref="MaxRunning"/> jobs running at once, and at most
/// <see cref="RateLimit"/> starts in any <see cref="RatePeriod"/>. A dead worker's slot frees
/// when its job's lease expires.
/// </summary>
public sealed class QueueLimit
{
    /// <summary>Most jobs of the queue running at once across all workers; null for no cap.</summary>
    public int? MaxRunning { get; set; }

    /// <summary>Most starts per <see cref="RatePeriod"/>; null for no rate limit.</summary>
    public int? RateLimit { get; set; }

    /// <summary>The sliding window of the rate limit.</summary>
    public TimeSpan? RatePeriod { get; set; }
}
