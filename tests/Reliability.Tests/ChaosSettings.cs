using System.Globalization;

namespace Reliability.Tests;

/// <summary>
/// The size of a chaos run. The test suite runs the short default; bench/chaos/run.sh runs the
/// same harness long by setting CHAOS_JOBS, CHAOS_WORKFLOWS, CHAOS_BATCHES and CHAOS_SECONDS (and CHAOS_RESULTS to keep the figures).
/// </summary>
/// <param name="Jobs">Jobs enqueued, evenly over <paramref name="EnqueueFor"/>.</param>
/// <param name="EnqueueFor">How long jobs keep arriving; kills go on for as long.</param>
/// <param name="KillEvery">Time between two SIGKILLs of a worker.</param>
/// <param name="Workers">Worker processes alive at once.</param>
/// <param name="Concurrency">Jobs one worker runs at once.</param>
/// <param name="WorkMs">Milliseconds each job works after writing its effect.</param>
/// <param name="Lease">The workers' lease: how long a killed worker's jobs wait to be rescued.</param>
/// <param name="Workflows">Workflows enqueued among the jobs, evenly over <paramref name="EnqueueFor"/>, each of <see cref="StepsPerWorkflow"/> steps.</param>
/// <param name="Batches">Batches enqueued among the jobs, each opened with half its <see cref="JobsPerBatch"/>, added the other half, sealed; and a callback.</param>
public sealed record ChaosSettings(int Jobs, TimeSpan EnqueueFor, TimeSpan KillEvery, int Workers, int Concurrency, int WorkMs, TimeSpan Lease, int Workflows, int Batches)
{
    /// <summary>Jobs in each batch, besides its callback.</summary>
    public const int JobsPerBatch = 20;

    /// <summary>A chain into a fan-out of four and a fan-in, then one more step: every kind of dependency.</summary>
    public const int StepsPerWorkflow = 7;

    /// <summary>Every job the run enqueues: the plain jobs, every workflow step, every batch's jobs and its callback.</summary>
    public int AllJobs => Jobs + (Workflows * StepsPerWorkflow) + (Batches * (JobsPerBatch + 1));

    /// <summary>The short run of the test suite, resized by CHAOS_JOBS / CHAOS_SECONDS when set.</summary>
    public static ChaosSettings FromEnvironment() => new(
        Jobs: Number("CHAOS_JOBS") ?? 20_000,
        EnqueueFor: TimeSpan.FromSeconds(Number("CHAOS_SECONDS") ?? 60),
        KillEvery: TimeSpan.FromSeconds(2),
        Workers: 3,
        Concurrency: 50,
        WorkMs: 20,
        Lease: TimeSpan.FromSeconds(10),
        Workflows: Number("CHAOS_WORKFLOWS") ?? 200,
        Batches: Number("CHAOS_BATCHES") ?? 50);

    private static int? Number(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}
