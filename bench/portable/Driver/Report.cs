using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Driver;

/// <summary>
/// Why it exists: the run's outcome for a person and for the test: a Markdown table per system
/// (completion rate, claim p50/p99, queue depth and dead tuples at each phase's end, jobs lost
/// after the drain), our figures as ratios against pg-boss's, and the protocol violations;
/// printed and written beside a JSON copy.
/// </summary>
internal static class Report
{
    public static string Markdown(DriverOptions options, IReadOnlyList<SystemResult> results, string command)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Portable long-horizon benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`{command}`: {options.Rate} jobs/s offered over stdin (`ENQUEUE n`), {options.Workers} workers, JOB_WORK_MS 1, "
            + $"a {SystemRun.WarmUp(options).TotalSeconds:F0} s warm-up, then 4 phases of {options.DurationSeconds / 4.0:F0} s, samples every {options.SampleEverySeconds} s. {Environment.ProcessorCount} cores, shared.");
        foreach (var result in results)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"## {result.System}");
            md.AppendLine();
            md.AppendLine("| phase | enqueue/s | completion/s | claim p50 ms | claim p99 ms | queue depth at end | dead tuples at end |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var p in result.Phases)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Phase} | {p.EnqueueRate:F0} | {p.CompletionRate:F0} | {p.ClaimP50Ms:F1} | {p.ClaimP99Ms:F1} | {p.QueueDepthAtEnd:F0} | {p.DeadTuples} |");
            }

            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Jobs lost after the final drain ({result.DrainSeconds:F0} s): **{result.Lost}** ({result.Enqueued} enqueued, {result.Completed} completed). "
                + $"Protocol violations: **{result.Violations.Count}**.");
            foreach (var violation in result.Violations.Take(20))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {violation}");
            }
        }

        if (results.FirstOrDefault(r => r.System == "jobengine") is { } ours && results.FirstOrDefault(r => r.System == "pgboss") is { } peer)
        {
            md.AppendLine();
            md.AppendLine("## Ratios, ours against pg-boss");
            md.AppendLine();
            md.AppendLine("Completion: ours ÷ pg-boss (above 1: ours completes more). Claim: pg-boss ÷ ours (above 1: ours picks jobs up sooner). Dead tuples: pg-boss ÷ ours.");
            md.AppendLine();
            md.AppendLine("| phase | completion | claim p50 | claim p99 | dead tuples |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: |");
            foreach (var (o, p) in ours.Phases.Zip(peer.Phases))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {o.Phase} | {Ratio(o.CompletionRate, p.CompletionRate)} | {Ratio(p.ClaimP50Ms, o.ClaimP50Ms)} | {Ratio(p.ClaimP99Ms, o.ClaimP99Ms)} | {Ratio(p.DeadTuples, o.DeadTuples)} |");
            }
        }

        return md.ToString();
    }

    public static string Json(DriverOptions options, IReadOnlyList<SystemResult> results) =>
        JsonSerializer.Serialize(new { options, results = results.Select(r => new { r.System, r.Phases, r.Enqueued, r.Completed, r.Lost, r.DrainSeconds, r.Violations }) },
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true });

    private static string Ratio(double numerator, double denominator) =>
        denominator > 0 ? (numerator / denominator).ToString("F2", CultureInfo.InvariantCulture) + "x" : "n/a";
}
