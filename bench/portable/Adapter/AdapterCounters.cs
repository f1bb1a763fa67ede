namespace Adapter;

/// <summary>Why it exists: the sampler reports rates as differences of these running totals, which producer and handlers bump lock-free.</summary>
internal sealed class AdapterCounters
{
    private long _enqueued;
    private long _completed;

    public long Enqueued => Interlocked.Read(ref _enqueued);

    public long Completed => Interlocked.Read(ref _completed);

    public void AddEnqueued(int count) => Interlocked.Add(ref _enqueued, count);

    public void AddCompleted() => Interlocked.Increment(ref _completed);
}
