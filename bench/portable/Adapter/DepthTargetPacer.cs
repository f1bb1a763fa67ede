namespace Adapter;

/// <summary>
/// Why it exists: <c>PRODUCER_MODE=depth-target</c> (a diagnostic) keeps about TARGET_DEPTH
/// available jobs: once a second it tops the queue up to the target, as the depth gauge saw it.
/// </summary>
internal sealed class DepthTargetPacer(AdapterSettings settings, QueueDepthReader depth, TimeProvider time) : IProducerPacer
{
    private long _owed;

    public async ValueTask<long> OwedAsync(CancellationToken cancellationToken)
    {
        while (_owed <= 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
            _owed = Math.Max(0, settings.TargetDepth - depth.Available());
        }

        return _owed;
    }

    public void Sent(int count) => _owed -= count;
}
