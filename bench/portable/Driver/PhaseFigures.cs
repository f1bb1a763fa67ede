namespace Driver;

/// <summary>The four phases, in order; the second holds an idle transaction with an XID, the last SIGKILLs and restarts one of two replicas.</summary>
internal enum Phase
{
    Clean,
    IdleInTransaction,
    Recovery,
    ReplicaKill,
}

/// <summary>When a phase ran and what the event tables held at its end.</summary>
internal sealed record PhaseWindow(Phase Phase, DateTimeOffset Start, DateTimeOffset End, long DeadTuples);

/// <summary>
/// Why it exists: one row of the report, from the samples whose tick falls in the phase. Rates
/// are summed over replicas per tick and averaged over ticks; claim p50 is the median of the
/// ticks' p50s, claim p99 the worst tick's p99 (each a rolling 30 s window); queue depth is the
/// last one sampled in the phase.
/// </summary>
internal sealed record PhaseFigures(string Phase, double EnqueueRate, double CompletionRate, double ClaimP50Ms, double ClaimP99Ms, double QueueDepthAtEnd, long DeadTuples)
{
    public static PhaseFigures From(PhaseWindow window, IReadOnlyList<Sample> samples)
    {
        var inPhase = samples.Where(s => s.T > window.Start && s.T <= window.End).ToList();
        double Rate(string metric) => inPhase.Where(s => s.Metric == metric).GroupBy(s => s.T).Select(g => g.Sum(s => s.Value)).DefaultIfEmpty(0).Average();
        var p50s = inPhase.Where(s => s.Metric == "claim_p50_ms").Select(s => s.Value).Order().ToList();
        return new(
            window.Phase.ToString(),
            Rate("enqueue_rate"),
            Rate("completion_rate"),
            p50s.Count == 0 ? 0 : p50s[p50s.Count / 2],
            inPhase.Where(s => s.Metric == "claim_p99_ms").Select(s => s.Value).DefaultIfEmpty(0).Max(),
            inPhase.Where(s => s.Metric == ProtocolValidator.ObserverMetric).OrderBy(s => s.T).Select(s => s.Value).LastOrDefault(),
            window.DeadTuples);
    }
}

/// <summary>Everything measured of one system: per-phase figures, the drain's counts and any protocol violation.</summary>
internal sealed record SystemResult(string System, IReadOnlyList<PhaseFigures> Phases, long Enqueued, long Completed, double DrainSeconds, IReadOnlyList<string> Violations)
{
    /// <summary>Enqueued minus completed after the final drain.</summary>
    public long Lost => Enqueued - Completed;
}
