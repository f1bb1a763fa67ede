namespace JobEngine.Running;

// Every loop that waits for the database (the LISTEN connection, the outcome writer, the worker's
// registration) retries on the same curve: soon after a blip, then less often, never more than
// 5 s apart, so a restarted PostgreSQL is met within 5 s of its return without a storm of
// reconnects while it is down. One type holds the curve so the three loops cannot drift apart.
internal sealed class RetryBackoff
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    private TimeSpan _next = First;

    /// <summary>The delay to wait before this retry; the one after it is twice as long, up to 5 s.</summary>
    public TimeSpan Next()
    {
        var delay = _next;
        _next = delay * 2 < Max ? delay * 2 : Max;
        return delay;
    }

    /// <summary>After a success, the next failure is retried soon again.</summary>
    public void Reset() => _next = First;
}
