namespace JobEngine;

/// <summary>
/// Where a batch is in its life: <c>open</c> (takes jobs; its callback waits), <c>sealed</c> (takes
/// none; the callback fires when the last job is finalized), <c>fired</c> (the callback entered the
/// queue with the counts; the batch is done), <c>cancelled</c> (its callback was cancelled before it fired).
/// </summary>
public static class BatchState
{
    /// <summary>Takes more jobs; its callback cannot fire.</summary>
    public const string Open = "open";
    /// <summary>Takes no more jobs; the callback fires once every job is finalized.</summary>
    public const string Sealed = "sealed";
    /// <summary>The callback was released with the counts; nothing changes the batch any more.</summary>
    public const string Fired = "fired";
    /// <summary>The callback was cancelled before the batch fired; it never will.</summary>
    public const string Cancelled = "cancelled";
}
