namespace JobEngine;

/// <summary>The outcome of enqueueing a batch: its id, its callback's job and its jobs' ids in the order given.</summary>
/// <param name="BatchId">The batch's id (GET /batches/{id}).</param>
/// <param name="CallbackJobId">The callback's job id (GET /jobs/{id}).</param>
/// <param name="State">One of <see cref="BatchState"/>: open, sealed, or fired for a sealed batch without jobs.</param>
/// <param name="JobIds">The jobs' ids, in the order given.</param>
public sealed record BatchEnqueued(long BatchId, long CallbackJobId, string State, IReadOnlyList<long> JobIds);
