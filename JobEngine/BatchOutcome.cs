namespace JobEngine;

/// <summary>
/// What a batch's callback finds in its args under <see cref="ArgsKey"/> when it runs: the batch and
/// how its jobs ended. Give the callback's args record a <c>Batch</c> property of this type to read it.
/// </summary>
/// <param name="Id">The batch's id.</param>
/// <param name="Total">Its jobs.</param>
/// <param name="Completed">Jobs that completed.</param>
/// <param name="Discarded">Jobs that failed their last attempt.</param>
/// <param name="Cancelled">Jobs that were cancelled.</param>
public sealed record BatchOutcome(long Id, int Total, int Completed, int Discarded, int Cancelled)
{
    /// <summary>The key of the callback's args that holds this (<c>jobs.release_pending</c>, migration 17).</summary>
    public const string ArgsKey = "batch";
}
