using JobEngine.Running;

namespace Adapter;

/// <summary>The arguments of one benchmark job: when it was enqueued (Unix ms, wall clock) and padding to the configured payload size.</summary>
/// <param name="EnqueuedAtMs">Wall-clock time of the insert, in Unix milliseconds; replicas on one machine share the clock.</param>
/// <param name="Padding">Filler so the job's arguments weigh about JOB_PAYLOAD_BYTES.</param>
internal sealed record BenchJobArgs(long EnqueuedAtMs, string Padding)
{
    /// <summary>The job kind the adapter enqueues and handles.</summary>
    public const string Kind = "portable_bench";

    /// <summary>The queue it runs in.</summary>
    public const string Queue = "portable_bench";
}

/// <summary>
/// Why it exists: the benchmark's synthetic job. It records the claim latency (insert to handler
/// start), does JOB_WORK_MS of work, and counts the completion.
/// </summary>
internal sealed class BenchJobHandler(ClaimLatency latency, AdapterCounters counters, AdapterSettings settings, TimeProvider time) : IJobHandler<BenchJobArgs>
{
    public async Task HandleAsync(JobContext job, BenchJobArgs args, CancellationToken cancellationToken)
    {
        latency.Record(time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(args.EnqueuedAtMs));
        if (settings.WorkMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(settings.WorkMs), time, cancellationToken).ConfigureAwait(false);
        }

        counters.AddCompleted();
    }
}
