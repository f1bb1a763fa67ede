using System.Diagnostics;
using Microsoft.Extensions.Caching.Hybrid;

namespace Api.Caching;

/// <summary>
/// Why it exists: on a miss with a cancellable token HybridCache computes the value on a
/// thread-pool item that does not carry the caller's execution context (one computation serves
/// every concurrent caller), so the database spans of the computation started traces of their own
/// and a cached endpoint's miss showed no PostgreSQL call. This runs the computation under a
/// <c>cache fill</c> span whose parent is the request that missed.
/// </summary>
public static class CacheFill
{
    /// <summary>The Api's own ActivitySource: ServiceDefaults subscribes to the application's name, which is the assembly's.</summary>
    public static readonly ActivitySource Source = new(typeof(CacheFill).Assembly.GetName().Name!);

    /// <summary>
    /// <see cref="HybridCache.GetOrCreateAsync{T}(string, Func{CancellationToken, ValueTask{T}}, HybridCacheEntryOptions?, IEnumerable{string}?, CancellationToken)"/>
    /// with <paramref name="rule"/>'s lifetimes, <paramref name="compute"/> traced under the caller's span.
    /// </summary>
    public static ValueTask<T> GetOrComputeAsync<T>(this HybridCache cache, string key, CacheRule rule, Func<CancellationToken, ValueTask<T>> compute, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(rule);
        var state = (Compute: compute, Parent: Activity.Current?.Context ?? default, Rule: rule.Name);
        return cache.GetOrCreateAsync(key, state, static async (state, token) =>
        {
            using var activity = Source.StartActivity("cache fill " + state.Rule, ActivityKind.Internal, state.Parent);
            return await state.Compute(token).ConfigureAwait(false);
        }, rule.Options, cancellationToken: cancellationToken);
    }
}
