namespace Api.Jobs;

/// <summary>A batch's jobs by outcome, each job counted once: what its callback receives when the batch fires.</summary>
/// <param name="Total">Jobs added to it.</param>
/// <param name="Remaining">Jobs not finalized yet.</param>
/// <param name="Completed">Jobs that completed.</param>
/// <param name="Discarded">Jobs that failed their last attempt.</param>
/// <param name="Cancelled">Jobs that were cancelled.</param>
public sealed record BatchCountsView(int Total, int Remaining, int Completed, int Discarded, int Cancelled);
