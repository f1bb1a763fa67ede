namespace JobEngine;

/// <summary>The outcome of adding jobs to a batch or sealing it, with the batch as it is afterwards.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Batch">The batch after the change (or when it was refused); null when not found.</param>
/// <param name="JobIds">The ids of the jobs added, in the order given; empty for a seal or a refusal.</param>
public sealed record BatchChange(BatchChangeOutcome Outcome, BatchRecord? Batch, IReadOnlyList<long> JobIds);
