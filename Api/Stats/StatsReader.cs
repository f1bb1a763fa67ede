using Api.Caching;
using Api.Sql;
using JobEngine;
using JobEngine.Health;
using Microsoft.Extensions.Caching.Hybrid;
using Npgsql;

namespace Api.Stats;

/// <summary>
/// Computes <c>GET /stats</c> with the four queries of Sql/stats.sql and the engine's oldest waiting job in one round trip, and serves
/// it under the <see cref="CacheRules.Stats"/> rule.
/// </summary>
public sealed class StatsReader(NpgsqlDataSource dataSource, HybridCache cache, CacheWriter writer, TimeProvider time)
{
    private static readonly LatencyStats NoLatency = new(null, null);

    /// <summary>The statistics and what the cache did; <paramref name="fresh"/> recomputes and stores them.</summary>
    public async Task<(StatsView Stats, CacheOutcome Outcome)> GetAsync(bool fresh, CancellationToken cancellationToken)
    {
        if (fresh)
        {
            var stats = await ReadAsync(cancellationToken).ConfigureAwait(false);
            await writer.SetAsync(CacheRules.StatsKey, stats, CacheRules.Stats, cancellationToken).ConfigureAwait(false);
            return (stats, CacheOutcome.Bypass);
        }

        var computed = false;
        var cached = await cache.GetOrComputeAsync(CacheRules.StatsKey, CacheRules.Stats, async token =>
        {
            computed = true;
            return await ReadAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return (cached, computed ? CacheOutcome.Miss : CacheOutcome.Hit);
    }

    private async Task<StatsView> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new(ApiSql.CountByQueueAndState),
                new(ApiSql.FinishedPerMinute),
                new(ApiSql.QueueLatency),
                new(ApiSql.QueueLatencyByQueue),
                DatabaseHealthClient.OldestWaitingJobSecondsCommand(),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);

        var counts = new SortedDictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        var (countQueue, countState, countJobs) = (reader.GetOrdinal("queue"), reader.GetOrdinal("state"), reader.GetOrdinal("jobs"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            QueueCounts(counts, reader.GetString(countQueue))[reader.GetString(countState)] = reader.GetInt64(countJobs);
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var perMinute = new List<MinuteStats>();
        var lastHour = new Dictionary<string, (long Completed, long Discarded)>(StringComparer.Ordinal);
        var (minuteColumn, queueColumn, completedColumn, discardedColumn) = (
            reader.GetOrdinal("minute"), reader.GetOrdinal("queue"), reader.GetOrdinal("completed"), reader.GetOrdinal("discarded"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var (minute, queue, completed, discarded) = (
                reader.GetFieldValue<DateTimeOffset>(minuteColumn), reader.GetString(queueColumn), reader.GetInt64(completedColumn), reader.GetInt64(discardedColumn));
            QueueCounts(counts, queue);
            if (perMinute.Count > 0 && perMinute[^1].Minute == minute)
            {
                perMinute[^1] = perMinute[^1] with { Completed = perMinute[^1].Completed + completed, Discarded = perMinute[^1].Discarded + discarded };
            }
            else
            {
                perMinute.Add(new MinuteStats(minute, completed, discarded));
            }

            var total = lastHour.GetValueOrDefault(queue);
            lastHour[queue] = (total.Completed + completed, total.Discarded + discarded);
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var (p50, p95) = (reader.GetOrdinal("p50_ms"), reader.GetOrdinal("p95_ms"));
        var latency = new LatencyStats(reader.IsDBNull(p50) ? null : reader.GetDouble(p50), reader.IsDBNull(p95) ? null : reader.GetDouble(p95));

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var queueLatency = new Dictionary<string, LatencyStats>(StringComparer.Ordinal);
        var (latencyQueue, queueP50, queueP95) = (reader.GetOrdinal("queue"), reader.GetOrdinal("p50_ms"), reader.GetOrdinal("p95_ms"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            queueLatency[reader.GetString(latencyQueue)] = new LatencyStats(reader.GetDouble(queueP50), reader.GetDouble(queueP95));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var oldest = await DatabaseHealthClient.ReadOldestWaitingJobSecondsAsync(reader, cancellationToken).ConfigureAwait(false);

        var completedHour = perMinute.Sum(m => m.Completed);
        var discardedHour = perMinute.Sum(m => m.Discarded);
        return new StatsView(
            time.GetUtcNow(),
            [.. counts.Select(q => new QueueStats(q.Key, q.Value, lastHour.GetValueOrDefault(q.Key).Completed, lastHour.GetValueOrDefault(q.Key).Discarded,
                queueLatency.GetValueOrDefault(q.Key, NoLatency)))],
            perMinute,
            completedHour + discardedHour == 0 ? 0 : (double)discardedHour / (completedHour + discardedHour),
            latency,
            oldest);
    }

    private static Dictionary<string, long> QueueCounts(SortedDictionary<string, Dictionary<string, long>> counts, string queue)
    {
        if (!counts.TryGetValue(queue, out var states))
        {
            states = JobState.All.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
            counts[queue] = states;
        }

        return states;
    }
}
