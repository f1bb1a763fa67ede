using Microsoft.Extensions.Hosting;

namespace Adapter;

/// <summary>
/// Why it exists: the protocol's samples. Ticks fall on wall-clock multiples of SAMPLE_EVERY_S,
/// so every system's samples line up on one time base; each tick writes one record per metric:
/// claim percentiles over the rolling 30 s, enqueue and completion rates over the tick, and
/// (from instance 0 only, as the harness's observer convention has it) the queue depth now.
/// </summary>
internal sealed class Sampler(
    ProtocolWriter writer, ClaimLatency latency, AdapterCounters counters, QueueDepthReader depth, AdapterSettings settings, TimeProvider time) : BackgroundService
{
    public const string System = "jobengine";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await writer.DescriptorWritten.WaitAsync(stoppingToken).ConfigureAwait(false);
        var period = settings.SampleEverySeconds * 1000L;
        var (lastEnqueued, lastCompleted, lastAt) = (counters.Enqueued, counters.Completed, time.GetTimestamp());
        var lastTickMs = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            // A timer may fire a moment before the wall clock reaches the tick: never emit one tick twice.
            var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            var tickMs = Math.Max((nowMs / period + 1) * period, lastTickMs + period);
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(tickMs - nowMs), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var (enqueued, completed, at) = (counters.Enqueued, counters.Completed, time.GetTimestamp());
            var seconds = Math.Max(time.GetElapsedTime(lastAt, at).TotalSeconds, 0.001);
            var (p50, p95, p99) = latency.Percentiles();
            var t = ProtocolWriter.Timestamp(DateTimeOffset.FromUnixTimeMilliseconds(tickMs));
            var records = new List<SampleRecord>
            {
                new(t, System, "claim_p50_ms", p50, ClaimLatency.WindowSeconds, settings.InstanceId),
                new(t, System, "claim_p95_ms", p95, ClaimLatency.WindowSeconds, settings.InstanceId),
                new(t, System, "claim_p99_ms", p99, ClaimLatency.WindowSeconds, settings.InstanceId),
                new(t, System, "enqueue_rate", Math.Round((enqueued - lastEnqueued) / seconds, 2), settings.SampleEverySeconds, settings.InstanceId),
                new(t, System, "completion_rate", Math.Round((completed - lastCompleted) / seconds, 2), settings.SampleEverySeconds, settings.InstanceId),
            };
            if (settings.InstanceId == 0)
            {
                records.Add(new(t, System, "queue_depth", depth.Available(), 0, settings.InstanceId));
            }

            writer.Write(records);
            (lastEnqueued, lastCompleted, lastAt, lastTickMs) = (enqueued, completed, at, tickMs);
        }
    }
}
