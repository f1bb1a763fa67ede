using System.Diagnostics;
using System.Globalization;

namespace ApiBench;

/// <summary>Timings of one measured operation, printed as count, p50, p99 and max in milliseconds.</summary>
internal sealed class Latency(string name)
{
    private readonly List<double> _ms = [];

    public int Count => _ms.Count;

    public void Add(TimeSpan elapsed) => _ms.Add(elapsed.TotalMilliseconds);

    public double Percentile(double p)
    {
        var sorted = _ms.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var start = Stopwatch.GetTimestamp();
        await action();
        return Stopwatch.GetElapsedTime(start);
    }

    public override string ToString() => string.Format(CultureInfo.InvariantCulture,
        "{0,-44} n={1,5}  p50={2,8:0.00} ms  p99={3,8:0.00} ms  max={4,8:0.00} ms", name, Count, Percentile(0.5), Percentile(0.99), _ms.Count == 0 ? double.NaN : _ms.Max());
}
