using Microsoft.Extensions.Caching.Hybrid;

namespace Api.Caching;

/// <summary>
/// Writes and removes HybridCache entries without ever failing the request: HybridCache logs and
/// skips a Redis failure on reads, but lets it escape from an explicit set or remove. With Redis
/// down, the in-process tier is still written (or cleared) first, so this process stays correct; an
/// entry Redis kept through a network split lives at most its rule's TTL.
/// </summary>
public sealed class CacheWriter(HybridCache cache, ILogger<CacheWriter> logger)
{
    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> with <paramref name="rule"/>'s lifetimes.</summary>
    public async ValueTask SetAsync<T>(string key, T value, CacheRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        try
        {
            await cache.SetAsync(key, value, rule.Options, rule.Tags, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Cache write of rule {Rule} failed: {Reason}", rule.Name, e.Message);
        }
    }

    /// <summary>Removes <paramref name="key"/> from both tiers.</summary>
    public async ValueTask RemoveAsync(string key, CacheRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        try
        {
            await cache.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Cache removal of rule {Rule} failed: {Reason}", rule.Name, e.Message);
        }
    }

    /// <summary>Removes every entry of <paramref name="rule"/> (HybridCache tag invalidation: one write, whatever the number of entries).</summary>
    public async ValueTask RemoveRuleAsync(CacheRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        try
        {
            await cache.RemoveByTagAsync(rule.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Cache removal of rule {Rule} failed: {Reason}", rule.Name, e.Message);
        }
    }
}
