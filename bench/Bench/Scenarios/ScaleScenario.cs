using Bench.Contenders;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: a queue is scaled by adding worker processes, so the drain is repeated with
/// 2 and 4 processes (on 2 cores, more processes mostly add contention: that is the point to see),
/// for ours and for the fastest peer of the drain scenario. 1 process is the drain figure.
/// The contenders take turns, run by run: run i of each before run i + 1 of any. Run one contender's
/// three after another's, a swing in the machine's load over those minutes landed on whichever ran
/// then, and the ratio moved with it.
/// </summary>
internal sealed class ScaleScenario(BenchPlan plan, Results results, DrainScenario drain)
{
    public async Task RunAsync(IReadOnlyList<Contender> contenders, CancellationToken cancellationToken)
    {
        var bestPeer = contenders.Where(c => c is not Ours)
            .MaxBy(c => results.Find("drain", c.Name, "jobs_per_s") ?? 0);
        var measured = contenders.Where(c => c is Ours || c == bestPeer).ToList();
        var runs = measured.SelectMany(c => plan.ScaleProcesses.Select(p => (c.Name, p))).ToDictionary(point => point, _ => new List<DrainRun>());
        foreach (var processes in plan.ScaleProcesses)
        {
            for (var i = 0; i < plan.ScaleRuns; i++)
            {
                foreach (var contender in measured)
                {
                    runs[(contender.Name, processes)].Add(await drain.MeasureAsync(contender, processes, plan.JobsFor(contender.Name), null, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        foreach (var contender in measured)
        {
            var jobs = plan.JobsFor(contender.Name);
            results.Add("scale", contender.Name, "jobs_per_s_1_process", results.Find("drain", contender.Name, "jobs_per_s") ?? double.NaN, "jobs/s");
            foreach (var processes in plan.ScaleProcesses)
            {
                var point = runs[(contender.Name, processes)];
                results.Add("scale", contender.Name, $"jobs_per_s_{processes}_processes", Stats.Median(point.Select(r => r.JobsPerSecond)), "jobs/s");
                drain.AddDiagnosis("scale", $"{contender.Name}", point.Select(r => r with { Diagnosis = r.Diagnosis.ToDictionary(d => $"{d.Key}_{processes}_processes", d => d.Value) }).ToList());
                results.Add("scale", contender.Name, $"peak_rss_mb_{processes}_processes", point.Max(r => r.PeakRssMb), "MB");
                results.Add("scale", contender.Name, $"worker_cpu_us_per_job_{processes}_processes", Stats.Median(point.Select(r => r.WorkerCpuSeconds / jobs * 1e6)), "µs");
                results.Add("scale", contender.Name, $"postgres_cpu_us_per_job_{processes}_processes", Stats.Median(point.Select(r => r.PostgresCpuSeconds / jobs * 1e6)), "µs");
            }
        }
    }
}
