using System.Globalization;

namespace Adapter;

/// <summary>
/// Why it exists: with <c>PRODUCER_PACING=adapter</c> the adapter paces itself at the target rate:
/// PRODUCER_RATE, or the number in PRODUCER_RATE_CONTROL_FILE (re-read every 500 ms; the overload
/// phase raises it). Credit accrues on real elapsed time, never per loop, so a slow insert is
/// followed by a bigger one rather than by a lower rate.
/// </summary>
internal sealed class RatePacer(AdapterSettings settings, TimeProvider time) : IProducerPacer
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan ReRead = TimeSpan.FromMilliseconds(500);
    private long _last = time.GetTimestamp();
    private long _rateReadAt = long.MinValue;
    private double _rate = settings.ProducerRate;
    private double _credit;

    public async ValueTask<long> OwedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = time.GetTimestamp();
            _credit += CurrentRate(now) * time.GetElapsedTime(_last, now).TotalSeconds;
            _last = now;
            if (_credit >= 1)
            {
                return (long)_credit;
            }

            await Task.Delay(Tick, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Sent(int count) => _credit -= count;

    private double CurrentRate(long now)
    {
        if (settings.RateControlFile is { } file && (_rateReadAt == long.MinValue || time.GetElapsedTime(_rateReadAt, now) >= ReRead))
        {
            _rateReadAt = now;
            try
            {
                if (double.TryParse(File.ReadAllText(file).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate >= 0)
                {
                    _rate = rate;
                }
            }
            catch (IOException)
            {
                // Not written yet, or being replaced: keep the last rate.
            }
        }

        return _rate;
    }
}
