using System.ComponentModel;

namespace Api.Stats;

/// <summary>The body of <c>GET /stats</c>.</summary>
/// <param name="GeneratedAt">When the figures were read (they may be served from cache for a short time).</param>
/// <param name="Queues">Counts per queue and state, with the last hour's throughput and the queue's latency.</param>
/// <param name="PerMinute">Jobs completed and discarded per minute over the last hour, oldest first; minutes without any are left out.</param>
/// <param name="ErrorRate">Discarded / (completed + discarded) over the last hour; 0 without any. (A failed attempt that will retry is not an error here; the metric <c>job.failed</c> counts those.)</param>
/// <param name="QueueLatencyMs">Wait from enqueue or run-at to start, over the latest 2,000 jobs finished in the last hour.</param>
/// <param name="OldestWaitingSeconds">How long the job due the longest has waited; null when none waits.</param>
/// <remarks>Immutable, so a HybridCache hit in process returns the stored instance instead of deserializing a copy.</remarks>
[ImmutableObject(true)]
public sealed record StatsView(
    DateTimeOffset GeneratedAt,
    IReadOnlyList<QueueStats> Queues,
    IReadOnlyList<MinuteStats> PerMinute,
    double ErrorRate,
    LatencyStats QueueLatencyMs,
    double? OldestWaitingSeconds);

/// <summary>One queue's counts, throughput and latency.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Counts">Jobs per state (every state listed, zeros included).</param>
/// <param name="CompletedLastHour">Jobs completed in the last hour.</param>
/// <param name="DiscardedLastHour">Jobs discarded in the last hour.</param>
/// <param name="LatencyMs">Wait from enqueue or run-at to start, over the queue's latest 200 finished jobs (by id) of those finished in the last hour; null percentiles without any.</param>
public sealed record QueueStats(string Queue, IReadOnlyDictionary<string, long> Counts, long CompletedLastHour, long DiscardedLastHour, LatencyStats LatencyMs);

/// <summary>One minute of throughput.</summary>
/// <param name="Minute">The minute's start.</param>
/// <param name="Completed">Jobs completed.</param>
/// <param name="Discarded">Jobs discarded.</param>
public sealed record MinuteStats(DateTimeOffset Minute, long Completed, long Discarded);

/// <summary>Queue latency percentiles, in milliseconds; null without finished jobs.</summary>
/// <param name="P50">Median.</param>
/// <param name="P95">95th percentile.</param>
public sealed record LatencyStats(double? P50, double? P95);
