using Api.Caching;
using Api.Sql;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace Api.Jobs;

/// <summary>One queue, how many live Workers serve it, and whether it is paused.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="LiveWorkers">Worker processes that heartbeated within their lease and serve it.</param>
/// <param name="Served">True when at least one does: a job sent to it will be claimed (unless the queue is paused).</param>
/// <param name="Paused">True when an operator paused it (<c>POST /queues/{name}/pause</c>): no Worker claims its jobs.</param>
public sealed record QueueWorkers(string Queue, long LiveWorkers, bool Served, bool Paused);

/// <summary>
/// Which queues a live Worker serves (<c>jobs.worker</c>, migration 11: a Worker is live while its
/// last heartbeat is younger than its lease), so the Api can say that a job sent to a queue nobody
/// serves will wait, instead of leaving it <c>available</c> without a word. The set read on enqueue
/// is cached under <see cref="CacheRules.ServedQueues"/>.
/// </summary>
public sealed class ServedQueues(NpgsqlDataSource dataSource, HybridCache cache, CacheWriter writer, CacheStatus status)
{
    /// <summary>
    /// The <c>Warning</c> header value (RFC 7234's syntax, code 199: miscellaneous) for a job sent to
    /// <paramref name="queue"/> that no live Worker serves. The name is percent-encoded, so the
    /// value stays ASCII whatever the queue is called.
    /// </summary>
    public static string WarningFor(string queue) =>
        $"199 - \"no live Worker serves queue {Uri.EscapeDataString(queue)}: the job waits until one does\"";

    /// <summary>
    /// Adds a <c>Warning</c> header to <paramref name="response"/> per queue of <paramref name="queues"/>
    /// no live Worker serves: what was sent there is stored either way (a Worker may start later), and
    /// the caller is told it will wait.
    /// </summary>
    public async Task WarnOfUnservedAsync(HttpResponse response, IEnumerable<string> queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        foreach (var queue in await UnservedAsync(queues, cancellationToken).ConfigureAwait(false))
        {
            response.Headers.Append(HeaderNames.Warning, WarningFor(queue));
        }
    }

    /// <summary>The queues of <paramref name="queues"/> no live Worker serves, each once, in order.</summary>
    public async Task<IReadOnlyList<string>> UnservedAsync(IEnumerable<string> queues, CancellationToken cancellationToken)
    {
        var read = false;
        var served = await cache.GetOrComputeAsync(CacheRules.ServedQueuesKey, CacheRules.ServedQueues, async token =>
        {
            read = true;
            return await ReadServedAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        var wanted = queues.Distinct(StringComparer.Ordinal).ToList();
        var unserved = wanted.Where(q => !served.Contains(q)).ToList();
        if (unserved.Count == 0 || read)
        {
            status.Record(CacheRules.ServedQueues, read ? CacheOutcome.Miss : CacheOutcome.Hit);
            return unserved;
        }

        // A queue not in the cached set may have a Worker that started since: look once more.
        status.Record(CacheRules.ServedQueues, CacheOutcome.Bypass);
        served = await ReadServedAsync(cancellationToken).ConfigureAwait(false);
        await writer.SetAsync(CacheRules.ServedQueuesKey, served, CacheRules.ServedQueues, cancellationToken).ConfigureAwait(false);
        return [.. unserved.Where(q => !served.Contains(q))];
    }

    /// <summary>Every queue that holds jobs or that a live Worker serves, with its live Workers, read fresh.</summary>
    public async Task<IReadOnlyList<QueueWorkers>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ApiSql.ListQueueWorkers);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var queues = new List<QueueWorkers>();
        var (queue, liveWorkers, paused) = (reader.GetOrdinal("queue"), reader.GetOrdinal("live_workers"), reader.GetOrdinal("paused"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var live = reader.GetInt64(liveWorkers);
            queues.Add(new(reader.GetString(queue), live, live > 0, reader.GetBoolean(paused)));
        }

        return queues;
    }

    private async Task<HashSet<string>> ReadServedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ApiSql.SelectServedQueues);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var served = new HashSet<string>(StringComparer.Ordinal);
        var queue = reader.GetOrdinal("queue");
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            served.Add(reader.GetString(queue));
        }

        return served;
    }
}
