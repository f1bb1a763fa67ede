namespace Api.Jobs;

/// <summary>The answer of <c>POST /batches</c>.</summary>
/// <param name="Id">The batch's id (GET /batches/{id}).</param>
/// <param name="Name">Its name, when given.</param>
/// <param name="State"><c>open</c>, <c>sealed</c>, or <c>fired</c> (sealed without jobs: the callback is already queued).</param>
/// <param name="CallbackJobId">Its callback's job (GET /jobs/{id}).</param>
/// <param name="JobIds">Its jobs, in the order given.</param>
public sealed record BatchCreatedView(long Id, string? Name, string State, long CallbackJobId, IReadOnlyList<long> JobIds);
