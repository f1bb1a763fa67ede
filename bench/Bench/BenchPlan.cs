namespace Bench;

/// <summary>
/// Why it exists: the full benchmark and the quick one (every scenario small, under 3 minutes,
/// run by a test so the harness cannot rot) differ only in sizes; they are all here.
/// </summary>
internal sealed record BenchPlan(
    bool Quick,
    int DrainJobs,
    int HangfireDrainJobs,
    int Runs,
    int[] SteadyRates,
    double SteadySeconds,
    int[] ScaleProcesses,
    int AgeingRows,
    int IndexBuildRate)
{
    public static BenchPlan Full { get; } = new(false, 100_000, 2_000, 3, [100, 1000, 2000, 5000, 10_000, 20_000], 15, [2, 4], 1_000_000, 100);

    public static BenchPlan QuickPlan { get; } = new(true, 5_000, 100, 1, [100, 1000], 1.5, [2], 20_000, 50);

    /// <summary>Latencies of the first second of each steady rate are left out: the producer and worker settle.</summary>
    public double WarmupSeconds => Quick ? 0.5 : 1;

    /// <summary>
    /// Each steady worker first runs this long at the first rate, reported apart (the cold start): a
    /// fresh process compiles its code as it first runs it, for seconds after it says it is ready.
    /// </summary>
    public double ColdStartSeconds => Quick ? 1 : 5;

    /// <summary>How often a drain checks whether any job is left.</summary>
    public static TimeSpan DrainPoll => TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Runs per scale-out point, as many as the drain's (the 1-process point is the drain's median):
    /// one run of 2 or 4 processes moved by a quarter between two runs of the same build.
    /// </summary>
    public int ScaleRuns => Runs;

    /// <summary>
    /// Runs per ceiling point, more than the drain's: a point without history drains its 100,000 jobs in
    /// about a second, and in ten full runs the ratio without history on two connections (median 2.7x)
    /// fell below 2.5x three times, with today's schema on two connections alone ranging 31,000-43,000
    /// jobs/s. Five runs a point cost the scenario about a minute.
    /// </summary>
    public int CeilingRuns => Quick ? Runs : 5;

    /// <summary>How long a steady rate's backlog may take to clear (a lease of 30 s plus the rescue interval, when a run was lost).</summary>
    public TimeSpan CatchUpLimit => TimeSpan.FromSeconds(Quick ? 10 : 45);

    /// <summary>Steps of the workflow scenario's chain (each waits for the one before).</summary>
    public int WorkflowChainSteps => Quick ? 50 : 1000;

    /// <summary>Parallel steps of the workflow scenario's fan-out, between its root and its fan-in step.</summary>
    public int WorkflowFanOut => Quick ? 200 : 10_000;

    public int JobsFor(string contender) => contender == "hangfire" ? HangfireDrainJobs : DrainJobs;
}
