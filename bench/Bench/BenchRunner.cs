using System.Diagnostics;
using Bench.Contenders;
using Bench.Scenarios;

namespace Bench;

/// <summary>
/// Why it exists: one command runs every scenario in order on one PostgreSQL, then writes
/// latest.json and the Markdown report, so every ratio compares figures taken in the same run.
/// </summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchPlan plan)
    {
        try
        {
            return await RunAllAsync(plan).ConfigureAwait(false);
        }
        finally
        {
            ChildProcess.KillAll();
        }
    }

    private static async Task<int> RunAllAsync(BenchPlan plan)
    {
        var env = BenchEnvironment.FromEnvironment();
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        });
        var token = cancel.Token;
        var clock = Stopwatch.StartNew();
        var results = new Results();
        var ours = new Ours(env);
        // BENCH_CONTENDERS (names, comma-separated) and BENCH_SCENARIOS narrow a run while tuning one figure;
        // a report of such a run says so in its notes.
        var contenders = Only<Contender>("BENCH_CONTENDERS", [ours, new Ours(env, keepsHistory: false), NodePeer.Graphile(env), NodePeer.PgBoss(env), new HangfirePeer(env)], c => c.Name);
        var scenarios = Only<string>("BENCH_SCENARIOS", ["drain", "ceiling", "steady", "workflow", "scale", "ageing", "index-build"], s => s);
        if (contenders.Length < 5 || scenarios.Length < 7)
        {
            results.Notes.Add($"- a narrowed run: contenders {string.Join(", ", contenders.Select(c => c.Name))}; scenarios {string.Join(", ", scenarios)}.");
        }

        foreach (var c in contenders)
        {
            results.Settings[c.Name] = c.Settings;
        }

        // BENCH_DRAIN_JOBS makes each drain longer, e.g. to attach perf or dotnet-trace to a Worker while it drains.
        if (int.TryParse(Environment.GetEnvironmentVariable("BENCH_DRAIN_JOBS"), out var drainJobs) && drainJobs > 0)
        {
            plan = plan with { DrainJobs = drainJobs };
            results.Notes.Add($"- drains of {drainJobs:N0} jobs (BENCH_DRAIN_JOBS).");
        }

        // BENCH_STEADY_SECONDS holds each steady rate longer: a p99 from more starts, when comparing tails.
        if (double.TryParse(Environment.GetEnvironmentVariable("BENCH_STEADY_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var steadySeconds) && steadySeconds > 0)
        {
            plan = plan with { SteadySeconds = steadySeconds };
            results.Notes.Add($"- steady rates held {steadySeconds:0.#} s each (BENCH_STEADY_SECONDS).");
        }

        // BENCH_SCALE_PROCESSES (comma-separated counts) narrows the scale scenario, e.g. to profile 4 processes alone.
        if (Environment.GetEnvironmentVariable("BENCH_SCALE_PROCESSES") is { Length: > 0 } scaleProcesses)
        {
            plan = plan with { ScaleProcesses = [.. scaleProcesses.Split(',').Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture))] };
            results.Notes.Add($"- scale with {scaleProcesses} processes only (BENCH_SCALE_PROCESSES).");
        }

        var machine = await Machine.DescribeAsync(env, token).ConfigureAwait(false);
        var drain = new DrainScenario(env, plan, results);

        await Step("drain", () => drain.RunAsync(contenders, token)).ConfigureAwait(false);
        await Step("ceiling", () => new CeilingScenario(env, plan, results).RunAsync(ours, token)).ConfigureAwait(false);
        // Start latencies of ours are read from the jobs' rows, which a run without history deletes.
        await Step("steady", () => new SteadyScenario(env, plan, results).RunAsync([.. contenders.Where(c => c.Name != Ours.NoHistoryName)], token)).ConfigureAwait(false);
        await Step("workflow", () => new WorkflowScenario(env, plan, results).RunAsync(ours, token)).ConfigureAwait(false);
        await Step("scale", () => new ScaleScenario(plan, results, drain).RunAsync(contenders, token)).ConfigureAwait(false);
        BenchDatabase? aged = null;
        await Step("ageing", async () => aged = await new AgeingScenario(env, plan, results, drain).RunAsync(ours, token).ConfigureAwait(false)).ConfigureAwait(false);
        await using (aged)
        {
            // The index build runs on the ageing scenario's database.
            await Step(aged is null ? "index-build without ageing" : "index-build", () => new IndexBuildScenario(env, plan, results).RunAsync(ours, aged!, token)).ConfigureAwait(false);
        }

        machine.LoadAfter = Machine.LoadAverage();
        machine.DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds);
        Directory.CreateDirectory(env.ResultsDir);
        await results.WriteJsonAsync(Path.Combine(env.ResultsDir, "latest.json"), machine, token).ConfigureAwait(false);
        var report = Path.Combine(env.ResultsDir, $"{(plan.Quick ? "quick-" : "")}{DateTime.UtcNow:yyyy-MM-dd-HHmm}.md");
        await File.WriteAllTextAsync(report, Report.Render(plan, machine, results), token).ConfigureAwait(false);
        File.Delete(Path.Combine(env.ResultsDir, "partial.json"));
        Console.WriteLine($"[bench] done in {clock.Elapsed.TotalSeconds:0} s: {Path.Combine(env.ResultsDir, "latest.json")}, {report}");
        return 0;

        static T[] Only<T>(string variable, T[] all, Func<T, string> name)
        {
            var wanted = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrWhiteSpace(wanted))
            {
                return all;
            }

            var names = wanted.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var unknown = names.Where(n => !all.Any(a => name(a) == n)).ToList();
            return unknown.Count > 0
                ? throw new ArgumentException($"{variable} names {string.Join(", ", unknown)}; expected some of {string.Join(", ", all.Select(name))}")
                : [.. all.Where(a => names.Contains(name(a)))];
        }

        async Task Step(string name, Func<Task> scenario)
        {
            if (!scenarios.Contains(name))
            {
                return;
            }

            Console.WriteLine($"[bench] scenario {name} ({clock.Elapsed.TotalSeconds:0} s elapsed)");
            await scenario().ConfigureAwait(false);
            // Written after every scenario, so a run that fails later still leaves what it measured.
            Directory.CreateDirectory(env.ResultsDir);
            await results.WriteJsonAsync(Path.Combine(env.ResultsDir, "partial.json"), machine, token).ConfigureAwait(false);
        }
    }
}
