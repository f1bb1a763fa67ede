using JobEngine;

namespace Api.Jobs;

/// <summary>A batch as <c>GET /batches/{id}</c> (and the seal and add answers) show it.</summary>
/// <param name="Id">The batch's id.</param>
/// <param name="Name">Its name, when given.</param>
/// <param name="State"><c>open</c>, <c>sealed</c>, <c>fired</c> or <c>cancelled</c> (its callback was cancelled before it fired).</param>
/// <param name="CallbackJobId">Its callback's job (GET /jobs/{id}).</param>
/// <param name="CallbackState">The callback's job state (<c>pending</c> until the batch fires); <c>finished</c> when it finished and no history was kept.</param>
/// <param name="Counts">Its jobs by outcome.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="CreatedBy">The API key that enqueued it.</param>
/// <param name="SealedAt">When it stopped taking jobs.</param>
/// <param name="FiredAt">When its callback was released.</param>
public sealed record BatchView(long Id, string? Name, string State, long CallbackJobId, string CallbackState, BatchCountsView Counts,
    DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? SealedAt, DateTimeOffset? FiredAt)
{
    /// <summary>The view of a stored batch.</summary>
    public static BatchView From(BatchRecord batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return new(batch.Id, batch.Name, batch.State, batch.CallbackJobId, batch.CallbackState ?? "finished",
            new BatchCountsView(batch.Total, batch.Total - batch.Finished, batch.Completed, batch.Discarded, batch.Cancelled),
            batch.CreatedAt, batch.CreatedBy, batch.SealedAt, batch.FiredAt);
    }
}
