using Api.Caching;
using Api.Sql;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Api.Jobs;

/// <summary>
/// Refuses jobs nobody would run: a kind is known when a running Worker registered it in
/// <c>jobs.kind</c> or <c>Api:Kinds</c> lists it (for Workers that are not running yet). The
/// registered list is cached under <see cref="CacheRules.Kinds"/>.
/// </summary>
public sealed class KnownKinds(NpgsqlDataSource dataSource, HybridCache cache, CacheWriter writer, CacheStatus status, IOptionsMonitor<ApiOptions> options)
{
    /// <summary>The index of the first job whose kind is unknown, or null when all are known.</summary>
    public async Task<int?> FirstUnknownAsync(IReadOnlyList<string> kinds, CancellationToken cancellationToken)
    {
        var configured = options.CurrentValue.Kinds;
        if (kinds.All(configured.Contains))
        {
            return null;
        }

        var read = false;
        var registered = await cache.GetOrComputeAsync(CacheRules.KindsKey, CacheRules.Kinds, async token =>
        {
            read = true;
            return await ReadRegisteredAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        var unknown = FirstUnknown(kinds, configured, registered);
        if (unknown is null || read)
        {
            status.Record(CacheRules.Kinds, read ? CacheOutcome.Miss : CacheOutcome.Hit);
            return unknown;
        }

        // A kind not in the cached list may have been registered since: look once more.
        status.Record(CacheRules.Kinds, CacheOutcome.Bypass);
        registered = await ReadRegisteredAsync(cancellationToken).ConfigureAwait(false);
        await writer.SetAsync(CacheRules.KindsKey, registered, CacheRules.Kinds, cancellationToken).ConfigureAwait(false);
        return FirstUnknown(kinds, configured, registered);
    }

    private static int? FirstUnknown(IReadOnlyList<string> kinds, List<string> configured, string[] registered)
    {
        for (var i = 0; i < kinds.Count; i++)
        {
            if (!configured.Contains(kinds[i]) && Array.BinarySearch(registered, kinds[i], StringComparer.Ordinal) < 0)
            {
                return i;
            }
        }

        return null;
    }

    private async Task<string[]> ReadRegisteredAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ApiSql.SelectRegisteredKinds);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var kinds = new List<string>();
        var kind = reader.GetOrdinal("kind");
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            kinds.Add(reader.GetString(kind));
        }

        // Sorted ordinally here, whatever the database collation, for the binary search above.
        return [.. kinds.Order(StringComparer.Ordinal)];
    }
}
