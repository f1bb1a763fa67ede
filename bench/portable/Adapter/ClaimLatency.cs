using HdrHistogram;

namespace Adapter;

/// <summary>
/// Why it exists: the protocol's claim percentiles cover the last 30 s, over runs of hours, so they
/// must come from bounded memory. Latencies go into one HDR histogram per wall-clock second
/// (3 significant figures, microseconds up to an hour); a read merges the last 30 of them. Memory
/// is 31 histograms whatever the rate or the run's length.
/// </summary>
internal sealed class ClaimLatency(TimeProvider time)
{
    /// <summary>The protocol's rolling window.</summary>
    public const int WindowSeconds = 30;

    private const long HighestMicroseconds = 3_600_000_000;
    private readonly Slot[] _slots = Enumerable.Range(0, WindowSeconds + 1).Select(_ => new Slot()).ToArray();
    private readonly LongHistogram _merged = NewHistogram();
    private readonly Lock _gate = new();

    /// <summary>Records one job's wait from insert to handler start.</summary>
    public void Record(TimeSpan latency)
    {
        var micros = Math.Clamp((long)latency.TotalMicroseconds, 0, HighestMicroseconds);
        var second = time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var slot = _slots[second % _slots.Length];
            if (slot.Second != second)
            {
                slot.Histogram.Reset();
                slot.Second = second;
            }

            slot.Histogram.RecordValue(micros);
        }
    }

    /// <summary>p50, p95 and p99 in milliseconds over the last <see cref="WindowSeconds"/> seconds; zeros when nothing ran.</summary>
    public (double P50, double P95, double P99) Percentiles()
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            _merged.Reset();
            foreach (var slot in _slots.Where(s => s.Second > now - WindowSeconds && s.Second <= now))
            {
                _merged.Add(slot.Histogram);
            }

            return _merged.TotalCount == 0
                ? (0, 0, 0)
                : (Millis(_merged.GetValueAtPercentile(50)), Millis(_merged.GetValueAtPercentile(95)), Millis(_merged.GetValueAtPercentile(99)));
        }
    }

    private static double Millis(long micros) => Math.Round(micros / 1000.0, 3);

    private static LongHistogram NewHistogram() => new(HighestMicroseconds, 3);

    private sealed class Slot
    {
        public long Second { get; set; } = long.MinValue;
        public LongHistogram Histogram { get; } = NewHistogram();
    }
}
