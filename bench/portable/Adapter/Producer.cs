using JobEngine;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Adapter;

/// <summary>
/// Why it exists: the adapter's producer. It enqueues what the pacer says is owed through
/// <see cref="JobClient.EnqueueManyAsync(IReadOnlyList{NewJob}, CancellationToken)"/>, at most
/// <see cref="BatchMax"/> jobs per statement, as any .NET producer would. A failed insert (the
/// database restarting, a backend killed) is all-or-none, so the jobs stay owed and are tried
/// again after a short pause.
/// </summary>
internal sealed class Producer(
    JobClient client, IProducerPacer pacer, AdapterCounters counters, AdapterSettings settings, TimeProvider time, ILogger<Producer> logger) : BackgroundService
{
    /// <summary>Most jobs one insert carries.</summary>
    public const int BatchMax = 500;

    private readonly string _padding = new('x', Math.Max(0, settings.PayloadBytes - 64));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var count = (int)Math.Min(await pacer.OwedAsync(stoppingToken).ConfigureAwait(false), BatchMax);
            var args = new BenchJobArgs(time.GetUtcNow().ToUnixTimeMilliseconds(), _padding);
            var jobs = Enumerable.Repeat(NewJob.Create(BenchJobArgs.Kind, args) with { Queue = BenchJobArgs.Queue }, count).ToList();
            try
            {
                await client.EnqueueManyAsync(jobs, stoppingToken).ConfigureAwait(false);
                pacer.Sent(count);
                counters.AddEnqueued(count);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Enqueue of {Count} jobs failed, retrying in 200 ms: {Message}", count, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, stoppingToken).ConfigureAwait(false);
            }
        }
    }
}
