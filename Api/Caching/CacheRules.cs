using System.Globalization;
using Microsoft.Extensions.Caching.Hybrid;

namespace Api.Caching;

/// <summary>
/// Every cache rule of the Api, in one place (the README's table repeats it). Entries live in
/// HybridCache: the in-process tier, and Redis as the shared tier when <c>ConnectionStrings:cache</c>
/// is set. Keys carry a version so a change of shape never reads an old entry.
/// </summary>
public static class CacheRules
{
    /// <summary>
    /// <c>GET /stats</c>, key <c>stats:v1</c>, 2 s (1 s in process). Not invalidated: a statistic two
    /// seconds old is what the rule promises. HybridCache runs one query per key and process at a
    /// time, so a burst of misses is one query (stampede protection). Bypass: <c>Cache-Control: no-cache</c>
    /// recomputes and stores the fresh value.
    /// </summary>
    public static readonly CacheRule Stats = new("stats", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));

    /// <summary>
    /// <c>GET /jobs/{id}</c> of a finalized job (completed, discarded, cancelled), key <c>job:v1:{id}</c>,
    /// 60 s (10 s in process). Live jobs are never stored: their state changes without the Api. A
    /// finalized job changes only by a retry: <c>POST /jobs/{id}/retry</c> removes the entry,
    /// <c>POST /jobs/retry</c> every entry of the rule (by tag).
    /// Bypass: live jobs, unknown ids, <c>Cache-Control: no-cache</c>.
    /// </summary>
    public static readonly CacheRule FinalizedJob = new("job", TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10));

    /// <summary>
    /// The kinds Workers registered (<c>jobs.kind</c>), read when a job is enqueued; key <c>kinds:v1</c>,
    /// 30 s (5 s in process). Bypass: a kind missing from the cached list is looked up again at once,
    /// so a Worker's new kind is accepted as soon as it is registered.
    /// </summary>
    public static readonly CacheRule Kinds = new("kinds", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5));

    /// <summary>
    /// The queues live Workers serve (<c>jobs.worker</c>), read when a job is enqueued to warn about
    /// a queue nobody serves; key <c>served-queues:v1</c>, 5 s (2 s in process). Bypass: a queue
    /// missing from the cached set is looked up again at once, so a Worker that just started is
    /// seen at once; one that stopped is seen within its lease and this TTL.
    /// </summary>
    public static readonly CacheRule ServedQueues = new("served-queues", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2));

    /// <summary>The key of <see cref="ServedQueues"/>.</summary>
    public const string ServedQueuesKey = "served-queues:v1";

    /// <summary>The key of <see cref="Stats"/>.</summary>
    public const string StatsKey = "stats:v1";

    /// <summary>The key of <see cref="Kinds"/>.</summary>
    public const string KindsKey = "kinds:v1";

    /// <summary>The key of <see cref="FinalizedJob"/> for job <paramref name="id"/>.</summary>
    public static string FinalizedJobKey(long id) => "job:v1:" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>Options that read the cache but never write it: how to ask "is it there?" of HybridCache.</summary>
    public static readonly HybridCacheEntryOptions ReadOnly = new()
    {
        Flags = HybridCacheEntryFlags.DisableLocalCacheWrite | HybridCacheEntryFlags.DisableDistributedCacheWrite,
    };
}

/// <summary>One cache rule: its name (the metric's <c>rule</c> tag) and lifetimes.</summary>
/// <param name="Name">The rule's name.</param>
/// <param name="Expiration">How long an entry lives in Redis (and in process when there is no Redis).</param>
/// <param name="LocalExpiration">How long an entry lives in each process's memory.</param>
public sealed record CacheRule(string Name, TimeSpan Expiration, TimeSpan LocalExpiration)
{
    /// <summary>The HybridCache options of this rule.</summary>
    public HybridCacheEntryOptions Options { get; } = new() { Expiration = Expiration, LocalCacheExpiration = LocalExpiration };

    /// <summary>Every entry is tagged with its rule's name, so a rule's entries can be removed at once.</summary>
    public IEnumerable<string> Tags { get; } = [Name];
}
