using System.Diagnostics;
using Bench.Contenders;
using JobEngine.Queues;

namespace Bench.Scenarios;

/// <summary>One timed drain: its rate, the workers' peak memory, the statements it cost, and the CPU each side spent on it.</summary>
internal sealed record DrainRun(double JobsPerSecond, double PeakRssMb, List<StatementCost> Statements, Dictionary<string, double> Diagnosis, double WorkerCpuSeconds, double PostgresCpuSeconds)
{
    /// <summary>Our Worker's runtime counters per job (see <see cref="RuntimeProfile"/>), when they were sampled.</summary>
    public Dictionary<string, double> Runtime { get; init; } = [];
}

/// <summary>
/// Why it exists: throughput is the first thing users compare. N no-op jobs are enqueued in bulk
/// (then ANALYZE, as autovacuum would soon)
/// into a fresh database, then P worker processes drain them. Every contender is timed the same
/// way, from outside: the clock starts when every worker is ready (each printed "ready", or ours
/// registered), so process start-up is not counted, and stops at the first 50 ms poll
/// that finds no unfinished job (an EXISTS, so the poll itself costs the database next to nothing).
/// With several processes, the jobs' table is locked until all are up: the first one up would
/// otherwise drain alone while the others were still starting, on the same cores (a .NET Worker's
/// start-up is about 0.9 s of CPU), and their start-up would be timed as part of the drain.
/// Scenarios <c>drain</c> (1 process) and <c>scale</c> (2 and 4) both use it.
/// </summary>
internal sealed class DrainScenario(BenchEnvironment env, BenchPlan plan, Results results)
{
    public async Task<DrainRun> MeasureAsync(Contender contender, int processes, int jobs, BenchDatabase? aged, CancellationToken cancellationToken, bool profileRuntime = false)
    {
        var db = aged ?? await BenchDatabase.CreateAsync(env, contender.Name, cancellationToken).ConfigureAwait(false);
        try
        {
            if (aged is null)
            {
                await contender.SetupAsync(db, cancellationToken).ConfigureAwait(false);
            }

            var mark = await contender.DrainMarkAsync(db, cancellationToken).ConfigureAwait(false);
            await contender.EnqueueAsync(db, jobs, cancellationToken).ConfigureAwait(false);
            // Autovacuum would analyze the new rows within its naptime (a minute); a drain of a few
            // seconds would otherwise be planned on a table that was never analyzed, which no
            // production table is for long. Every contender's tables, the same way.
            await db.ExecuteAsync("ANALYZE", cancellationToken).ConfigureAwait(false);
            var before = await StatementProfile.SnapshotAsync(db, cancellationToken).ConfigureAwait(false);
            if (profileRuntime)
            {
                // The profiled Worker starts with its queue paused, so that the counters can attach
                // after its start (see RuntimeProfile.AttachAsync) and still see the whole drain.
                await new QueuePauses(db.OwnerSource).PauseAsync("default", "bench", cancellationToken).ConfigureAwait(false);
            }

            await using var holdConnection = processes > 1 ? await db.OwnerSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false) : null;
            await using var hold = holdConnection is null ? null : await contender.HoldJobsAsync(db, holdConnection, cancellationToken).ConfigureAwait(false);
            var workers = Enumerable.Range(1, processes).Select(i => contender.StartWorker(db, i, "")).ToList();
            RuntimeProfile? runtime = null;
            try
            {
                var clock = Stopwatch.StartNew();
                await contender.WaitUntilReadyAsync(db, workers, cancellationToken).ConfigureAwait(false);
                if (profileRuntime)
                {
                    runtime = await RuntimeProfile.AttachAsync(workers[0].Id, Path.Combine(env.WorkDir, $"{contender.Name}-counters.csv"), cancellationToken).ConfigureAwait(false);
                    await new QueuePauses(db.OwnerSource).ResumeAsync("default", cancellationToken).ConfigureAwait(false);
                }

                var ready = clock.Elapsed;
                var readyAt = DateTime.Now;
                var (workerCpu, postgresCpu) = (workers.Sum(w => CpuTime.OfProcess(w.Id)), CpuTime.OfPostgres());
                if (hold is not null)
                {
                    await hold.CommitAsync(cancellationToken).ConfigureAwait(false);
                }

                await WaitUntilDrainedAsync(db, contender, jobs, workers, cancellationToken).ConfigureAwait(false);
                var seconds = (clock.Elapsed - ready).TotalSeconds;
                var drainedAt = DateTime.Now;
                (workerCpu, postgresCpu) = (workers.Sum(w => CpuTime.OfProcess(w.Id)) - workerCpu, CpuTime.OfPostgres() - postgresCpu);
                var rss = workers.Max(w => w.PeakRssMb());
                var statements = StatementProfile.Between(before, await StatementProfile.SnapshotAsync(db, cancellationToken).ConfigureAwait(false));
                var diagnosis = await contender.DiagnoseDrainAsync(db, mark, cancellationToken).ConfigureAwait(false);
                await StopAsync(workers).ConfigureAwait(false);
                return new DrainRun(jobs / seconds, rss, statements, diagnosis, workerCpu, postgresCpu)
                {
                    Runtime = runtime is null ? [] : await runtime.PerJobAsync(readyAt, drainedAt, jobs / seconds).ConfigureAwait(false),
                };
            }
            finally
            {
                await StopAsync(workers).ConfigureAwait(false);
            }
        }
        finally
        {
            if (aged is null)
            {
                await db.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task StopAsync(List<ChildProcess> workers)
    {
        foreach (var worker in workers)
        {
            await worker.StopAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            worker.Dispose();
        }

        workers.Clear();
    }

    private static async Task WaitUntilDrainedAsync(BenchDatabase db, Contender contender, int jobs, List<ChildProcess> workers, CancellationToken cancellationToken)
    {
        // Generous: Hangfire drains about 100 jobs/s here, and a stalled run must fail, not hang.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120 + (jobs / 20.0));
        using var timer = new PeriodicTimer(BenchPlan.DrainPoll);
        while (await db.ScalarAsync(contender.AnyLeftSql, cancellationToken).ConfigureAwait(false) != 0)
        {
            if (DateTime.UtcNow > deadline || workers.Any(w => w.HasExited))
            {
                var exited = workers.FirstOrDefault(w => w.HasExited);
                throw new TimeoutException($"{contender.Name} did not drain {jobs} jobs in time"
                    + (exited is null ? "." : $"; {exited.Describe()} exited: {string.Join(" | ", exited.Lines.TakeLast(8))}"));
            }

            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Scenario <c>drain</c>: every contender, one worker process, median of the plan's runs. The
    /// contenders take turns, run by run (as in the scale scenario): run one contender's three after
    /// another's, a swing in the machine's load over those minutes landed on whichever ran then.
    /// </summary>
    public async Task RunAsync(IReadOnlyList<Contender> contenders, CancellationToken cancellationToken)
    {
        var runs = contenders.ToDictionary(c => c.Name, _ => new List<DrainRun>());
        var stalled = new HashSet<string>();
        for (var i = 0; i < plan.Runs; i++)
        {
            foreach (var contender in contenders.Where(c => !stalled.Contains(c.Name)))
            {
                try
                {
                    runs[contender.Name].Add(await MeasureAsync(contender, 1, plan.JobsFor(contender.Name), null, cancellationToken).ConfigureAwait(false));
                }
                catch (TimeoutException e)
                {
                    // One contender that stalls must not cost the run every other figure: its drain
                    // figures stay n/a and the report says why.
                    results.Notes.Add($"- {contender.Name}: the drain failed, its figures are n/a: {e.Message}");
                    Console.WriteLine($"[bench] {contender.Name}: drain failed: {e.Message}");
                    stalled.Add(contender.Name);
                }
            }
        }

        foreach (var contender in contenders.Where(c => !stalled.Contains(c.Name)))
        {
            var jobs = plan.JobsFor(contender.Name);
            var measured = runs[contender.Name];
            results.Add("drain", contender.Name, "jobs_per_s", Stats.Median(measured.Select(r => r.JobsPerSecond)), "jobs/s");
            results.Add("drain", contender.Name, "jobs", jobs, "jobs");
            results.Add("drain", contender.Name, "runs", plan.Runs, "runs");
            results.Add("drain", contender.Name, "peak_rss_mb", measured.Max(r => r.PeakRssMb), "MB");
            results.Add("drain", contender.Name, "worker_cpu_us_per_job", Stats.Median(measured.Select(r => r.WorkerCpuSeconds / jobs * 1e6)), "µs");
            results.Add("drain", contender.Name, "postgres_cpu_us_per_job", Stats.Median(measured.Select(r => r.PostgresCpuSeconds / jobs * 1e6)), "µs");
            AddProfile(contender.Name, measured[^1].Statements, jobs);
            // One more drain of ours with dotnet-counters attached, left out of every figure above:
            // sampling costs the Worker CPU (JIT of the listener, a counter snapshot each second).
            var profiled = contender is Ours ? await MeasureAsync(contender, 1, jobs, null, cancellationToken, profileRuntime: true).ConfigureAwait(false) : null;
            foreach (var (metric, value) in profiled?.Runtime ?? [])
            {
                results.Add("drain", contender.Name, metric, value, RuntimeProfile.Unit(metric));
            }

            AddDiagnosis("drain", contender.Name, measured);
            if (contender.Name == "ours")
            {
                results.Add("drain", "ours", "claim_ms_mean", Stats.Median(measured.Select(ClaimMeanMs)), "ms");
            }
        }
    }

    /// <summary>The contender's own diagnosis figures, median over the runs (and the worst run's).</summary>
    public void AddDiagnosis(string scenario, string contender, List<DrainRun> runs)
    {
        foreach (var key in runs.SelectMany(r => r.Diagnosis.Keys).Distinct())
        {
            var values = runs.Select(r => r.Diagnosis.GetValueOrDefault(key, double.NaN)).ToList();
            results.Add(scenario, contender, key, Stats.Median(values), key.StartsWith("jobs_per_s", StringComparison.Ordinal) ? "jobs/s" : "jobs");
            if (key == "rescued_jobs")
            {
                results.Add(scenario, contender, "rescued_jobs_max", values.Max(), "jobs");
            }
        }
    }

    /// <summary>Mean time of our claim statement per call, the engine's hot path.</summary>
    public static double ClaimMeanMs(DrainRun run) =>
        run.Statements.FirstOrDefault(s => s.Query.Contains("FOR UPDATE SKIP LOCKED", StringComparison.Ordinal) && s.Query.Contains("attempted_by", StringComparison.Ordinal))?.MeanMs ?? double.NaN;

    private static string Shorten(string query) =>
        (query.Length > 140 ? query[..140] + "…" : query).Replace("|", "\\|", StringComparison.Ordinal);

    private void AddProfile(string contender, List<StatementCost> statements, int jobs)
    {
        var total = statements.Sum(s => s.TotalMs);
        results.Profile.Add($"**{contender}** (one drain of {jobs:N0} jobs): {total:N0} ms of statement time in PostgreSQL, {total / jobs * 1000:N1} µs per job. Top statements:");
        results.Profile.Add("");
        results.Profile.Add("| calls | total ms | mean ms | rows | statement |");
        results.Profile.Add("|---:|---:|---:|---:|---|");
        foreach (var s in statements.Take(5))
        {
            results.Profile.Add($"| {s.Calls:N0} | {s.TotalMs:N0} | {s.MeanMs:0.###} | {s.Rows:N0} | `{Shorten(s.Query)}` |");
        }

        results.Profile.Add("");
    }
}
