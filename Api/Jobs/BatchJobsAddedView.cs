namespace Api.Jobs;

/// <summary>The answer of <c>POST /batches/{id}/jobs</c>.</summary>
/// <param name="JobIds">The jobs added, in the order given.</param>
/// <param name="Batch">The batch with them.</param>
public sealed record BatchJobsAddedView(IReadOnlyList<long> JobIds, BatchView Batch);
