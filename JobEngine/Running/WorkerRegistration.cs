namespace JobEngine.Running;

/// <summary>
/// Whether this process's worker has registered its kinds and first heartbeat. Until it has, it
/// claims nothing and the Api refuses its kinds, so it must not report itself ready: whoever waits
/// for a healthy Worker before sending jobs would otherwise be turned away.
/// </summary>
public sealed class WorkerRegistration
{
    private volatile bool _registered;

    /// <summary>True once the kinds, the first heartbeat and the queue limits are written.</summary>
    public bool IsRegistered => _registered;

    internal void MarkRegistered() => _registered = true;
}
