using Bench.Contenders;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: a queue is scaled by adding worker processes, so the drain is repeated with
/// 2 and 4 processes (on 2 cores, more processes mostly add contention: that is the point to see),
/// for ours and for the fastest peer of the drain scenario. 1 process is the drain figure.
/// </summary>
internal sealed class ScaleScenario(BenchPlan plan, Results results, DrainScenario drain)
{
    public async Task RunAsync(IReadOnlyList<Contender> contenders, CancellationToken cancellationToken)
    {
        var bestPeer = contenders.Where(c => c is not Ours)
            .MaxBy(c => results.Find("drain", c.Name, "jobs_per_s") ?? 0);
        foreach (var contender in contenders.Where(c => c is Ours || c == bestPeer))
        {
            var jobs = plan.JobsFor(contender.Name);
            results.Add("scale", contender.Name, "jobs_per_s_1_process", results.Find("drain", contender.Name, "jobs_per_s") ?? double.NaN, "jobs/s");
            foreach (var processes in plan.ScaleProcesses)
            {
                var runs = new List<DrainRun>();
                for (var i = 0; i < plan.ScaleRuns; i++)
                {
                    runs.Add(await drain.MeasureAsync(contender, processes, jobs, null, cancellationToken).ConfigureAwait(false));
                }

                results.Add("scale", contender.Name, $"jobs_per_s_{processes}_processes", Stats.Median(runs.Select(r => r.JobsPerSecond)), "jobs/s");
                drain.AddDiagnosis("scale", $"{contender.Name}", runs.Select(r => r with { Diagnosis = r.Diagnosis.ToDictionary(d => $"{d.Key}_{processes}_processes", d => d.Value) }).ToList());
                results.Add("scale", contender.Name, $"peak_rss_mb_{processes}_processes", runs.Max(r => r.PeakRssMb), "MB");
                results.Add("scale", contender.Name, $"worker_cpu_us_per_job_{processes}_processes", Stats.Median(runs.Select(r => r.WorkerCpuSeconds / jobs * 1e6)), "µs");
                results.Add("scale", contender.Name, $"postgres_cpu_us_per_job_{processes}_processes", Stats.Median(runs.Select(r => r.PostgresCpuSeconds / jobs * 1e6)), "µs");
            }
        }
    }
}
