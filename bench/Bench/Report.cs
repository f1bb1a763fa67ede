using System.Globalization;
using System.Text;
using Bench.Contenders;

namespace Bench;

/// <summary>
/// Why it exists: the Markdown report a person reads: the machine, each contender's settings,
/// every figure of latest.json grouped by scenario, ours/peer ratios, the targets of issue 5
/// met or missed and by how much, and the statement profile of each drain.
/// </summary>
internal static class Report
{
    private static readonly string[] Peers = ["graphile-worker", "pg-boss", "hangfire"];

    public static string Render(BenchPlan plan, Machine machine, Results results)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        string F(double? v) => v is null || double.IsNaN(v.Value) ? "n/a" : v.Value.ToString(v.Value >= 100 ? "N0" : "0.##", CultureInfo.InvariantCulture);

        Line($"# Benchmark report ({(plan.Quick ? "quick mode: small sizes, one run, not for comparison" : "full")})");
        Line();
        Line($"Commit `{machine.Commit}`, started {machine.StartedUtc}, took {machine.DurationSeconds:0} s. Reproduce: `./bench/run.sh{(plan.Quick ? " --quick" : "")}`.");
        Line();
        Line("## Machine");
        Line();
        Line($"- {machine.Cores} cores ({machine.Cpu}), memory {machine.MemoryTotal}; .NET {machine.DotNet}, Node.js {machine.Node}");
        Line($"- load average (1, 5, 15 min) before: {machine.LoadBefore}, after: {machine.LoadAfter}. The machine is shared with other work: figures are noisy, compare ratios taken in the same run rather than absolute numbers across runs.");
        Line($"- PostgreSQL (local, one cluster, a fresh database per contender and run): " +
             string.Join(", ", machine.PostgreSql.Select(s => $"{s.Key} = {s.Value}")));
        Line();
        Line("## Settings");
        Line();
        foreach (var (name, settings) in results.Settings)
        {
            Line($"- **{name}**: {settings}");
        }

        Line();
        Line($"Drain: {plan.DrainJobs:N0} no-op jobs ({plan.HangfireDrainJobs:N0} for Hangfire, whose one-job-per-query design makes 100,000 too slow for the time budget; jobs/s is comparable), " +
             $"median of {plan.Runs} run(s), timed from the worker being ready to the first {BenchPlan.DrainPoll.TotalMilliseconds:0} ms poll that finds no unfinished job. " +
             $"Steady: {plan.SteadySeconds:0.#} s per rate, first {plan.WarmupSeconds:0.#} s left out; the cold start and the rates up to 1,000/s are the median of {plan.Runs} round(s), the contenders taking turns round by round (higher rates: the first round). Scale: median of {plan.ScaleRuns} run(s) per point.");
        Line();
        Line("## Headline: ours / peer");
        Line();
        Line("| figure | ours | " + string.Join(" | ", Peers) + " | " + string.Join(" | ", Peers.Select(p => $"ours/{p}")) + " |");
        Line("|---|---:|" + string.Concat(Peers.Select(_ => "---:|")) + string.Concat(Peers.Select(_ => "---:|")));
        void Ratio(string label, string scenario, string metric, bool higherIsBetter, string contender = "ours")
        {
            var ours = results.Find(scenario, contender, metric);
            label = contender == "ours" ? label : $"{label}, {contender}";
            var peers = Peers.Select(p => results.Find(scenario, p, metric)).ToList();
            var ratios = peers.Select(p => ours is null || p is null || p == 0 ? "n/a" : (ours.Value / p.Value).ToString("0.00", CultureInfo.InvariantCulture) + "x");
            Line($"| {label}{(higherIsBetter ? "" : " (lower is better)")} | {F(ours)} | {string.Join(" | ", peers.Select(F))} | {string.Join(" | ", ratios)} |");
        }

        Ratio("drain jobs/s", "drain", "jobs_per_s", true);
        Ratio("drain jobs/s", "drain", "jobs_per_s", true, Ours.NoHistoryName);
        foreach (var rate in plan.SteadyRates.Take(2))
        {
            Ratio($"steady p50 ms at {rate}/s", "steady", $"p50_ms_at_{rate}", false);
            Ratio($"steady p99 ms at {rate}/s", "steady", $"p99_ms_at_{rate}", false);
        }

        Ratio($"cold start p99 ms at {plan.SteadyRates[0]}/s (a fresh worker's first seconds)", "steady", $"cold_start_p99_ms_at_{plan.SteadyRates[0]}", false);
        Ratio("highest steady rate with p99 < 100 ms", "steady", "max_sustained_rate", true);
        Ratio("worker peak RSS MB (drain)", "drain", "peak_rss_mb", false);
        Line();
        Targets(plan, results, Line, F);
        Line("## Every figure");
        foreach (var scenario in results.Entries.Select(e => e.Scenario).Distinct())
        {
            Line();
            Line($"### {scenario}");
            Line();
            Line("| contender | metric | value | unit |");
            Line("|---|---|---:|---|");
            foreach (var e in results.Entries.Where(e => e.Scenario == scenario))
            {
                Line($"| {e.Contender} | {e.Metric} | {F(e.Value)} | {e.Unit} |");
            }
        }

        Line();
        Line("## Where the database time goes (pg_stat_statements, one drain each)");
        Line();
        foreach (var line in results.Profile)
        {
            Line(line);
        }

        foreach (var note in results.Notes)
        {
            Line(note);
        }

        return md.ToString();
    }

    private static double? ScaleRatio(Results results, int processes) =>
        results.Find("scale", "ours", $"jobs_per_s_{processes}_processes") / results.Find("scale", "graphile-worker", $"jobs_per_s_{processes}_processes");

    private static void Targets(BenchPlan plan, Results results, Action<string> line, Func<double?, string> f)
    {
        var ours = results.Find("drain", "ours", "jobs_per_s");
        var bestPeer = Peers.Select(p => (Name: p, Rate: results.Find("drain", p, "jobs_per_s"))).MaxBy(p => p.Rate ?? 0);
        var checks = new List<(string Target, string Measured, bool Met)>
        {
            ("drain >= 1.5x the fastest peer", $"{f(ours / bestPeer.Rate)}x {bestPeer.Name}", ours / bestPeer.Rate >= 1.5),
            ("ceiling with history >= 1.6x today's schema (1 / 2 connections)",
                $"{f(results.Find("ceiling", "ceiling", "history_1conn_vs_before_1conn"))}x / {f(results.Find("ceiling", "ceiling", "history_2conn_vs_before_2conn"))}x",
                results.Find("ceiling", "ceiling", "history_1conn_vs_before_1conn") >= 1.6 && results.Find("ceiling", "ceiling", "history_2conn_vs_before_2conn") >= 1.6),
            ("ceiling without history >= 2.5x today's schema (1 / 2 connections)",
                $"{f(results.Find("ceiling", "ceiling", "none_1conn_vs_before_1conn"))}x / {f(results.Find("ceiling", "ceiling", "none_2conn_vs_before_2conn"))}x",
                results.Find("ceiling", "ceiling", "none_1conn_vs_before_1conn") >= 2.5 && results.Find("ceiling", "ceiling", "none_2conn_vs_before_2conn") >= 2.5),
            ("scale: 2 processes >= 1.5x Graphile Worker with 2", $"{f(ScaleRatio(results, 2))}x", ScaleRatio(results, 2) >= 1.5),
            ("scale: 4 processes >= 1.5x Graphile Worker with 4", $"{f(ScaleRatio(results, 4))}x", ScaleRatio(results, 4) >= 1.5),
            ("steady at 1,000/s: p50 and p99 no worse than Graphile Worker's",
                $"p50 {f(results.Find("steady", "ours", "p50_ms_at_1000"))} vs {f(results.Find("steady", "graphile-worker", "p50_ms_at_1000"))} ms, p99 {f(results.Find("steady", "ours", "p99_ms_at_1000"))} vs {f(results.Find("steady", "graphile-worker", "p99_ms_at_1000"))} ms",
                results.Find("steady", "ours", "p50_ms_at_1000") <= results.Find("steady", "graphile-worker", "p50_ms_at_1000")
                && results.Find("steady", "ours", "p99_ms_at_1000") <= results.Find("steady", "graphile-worker", "p99_ms_at_1000")),
            ("drain >= 50% of the ceiling", $"{f(results.Find("ceiling", "ours", "percent_of_ceiling"))}%", results.Find("ceiling", "ours", "percent_of_ceiling") >= 50),
            ("steady p50 < 5 ms at 1,000/s", $"{f(results.Find("steady", "ours", "p50_ms_at_1000"))} ms", results.Find("steady", "ours", "p50_ms_at_1000") < 5),
            ("steady p99 < 25 ms at 1,000/s", $"{f(results.Find("steady", "ours", "p99_ms_at_1000"))} ms", results.Find("steady", "ours", "p99_ms_at_1000") < 25),
            ($"drain with {plan.AgeingRows:N0} finalized rows within 10% of empty", $"{f(results.Find("ageing", "ours", "aged_vs_empty_percent"))}% of empty", results.Find("ageing", "ours", "aged_vs_empty_percent") >= 90),
            ("worker RSS < 150 MB", $"{f(results.Entries.Where(e => e.Contender == "ours" && e.Metric.StartsWith("peak_rss_mb", StringComparison.Ordinal)).Max(e => (double?)e.Value))} MB at most", results.Entries.Where(e => e.Contender == "ours" && e.Metric.StartsWith("peak_rss_mb", StringComparison.Ordinal)).All(e => e.Value < 150)),
        };
        line("## Targets of issues 5 and 18");
        line("");
        line("| target | measured | met |");
        line("|---|---|---|");
        foreach (var (target, measured, met) in checks)
        {
            line($"| {target} | {measured} | {(met ? "yes" : "**no**")} |");
        }

        line("");
    }
}
