using System.Globalization;
using Bench.Contenders;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: schema changes happen on live tables. While a producer enqueues one job per
/// insert at a steady rate (as an API would), the real Migrator builds migration 2's three
/// indexes CONCURRENTLY on the aged table (<c>rollback 1</c> then <c>apply</c>); then the same
/// three indexes are built with a plain CREATE INDEX for contrast. Each phase reports enqueue
/// p50/p99/max and failed writes during the build, and how long the build took.
/// </summary>
internal sealed class IndexBuildScenario(BenchEnvironment env, BenchPlan plan, Results results)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    public async Task RunAsync(Ours ours, BenchDatabase aged, CancellationToken cancellationToken)
    {
        results.Add("index-build", "ours", "table_rows", await aged.ScalarAsync(BenchSql.CountJobs, cancellationToken).ConfigureAwait(false), "rows");
        results.Add("index-build", "ours", "enqueue_rate", plan.IndexBuildRate, "jobs/s");

        await ours.MigrateAsync(aged, ["rollback", "1"], cancellationToken).ConfigureAwait(false);
        await PhaseAsync(ours, aged, "concurrent", () => ours.MigrateAsync(aged, ["apply"], cancellationToken), cancellationToken).ConfigureAwait(false);

        await ours.MigrateAsync(aged, ["rollback", "1"], cancellationToken).ConfigureAwait(false);
        await PhaseAsync(ours, aged, "plain", () => aged.ExecuteAsync(BenchSql.PlainCreateIndexes, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task PhaseAsync(Ours ours, BenchDatabase db, string phase, Func<Task> build, CancellationToken cancellationToken)
    {
        var log = Path.Combine(env.WorkDir, $"index-build-{phase}-enqueues.txt");
        File.Delete(log);
        long from, to;
        using (var producer = ours.StartProducer(db, plan.IndexBuildRate, 600, single: true, logFile: log))
        {
            await Task.Delay(Settle, cancellationToken).ConfigureAwait(false);
            from = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await build().ConfigureAwait(false);
            to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            // Writes queued behind the build land after it: let them, then stop the producer.
            await Task.Delay(Settle, cancellationToken).ConfigureAwait(false);
            await producer.StopAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }

        var sends = (await File.ReadAllLinesAsync(log, cancellationToken).ConfigureAwait(false))
            .Select(l => l.Split(' '))
            .Select(p => (Due: long.Parse(p[0], CultureInfo.InvariantCulture), Ms: double.Parse(p[1], CultureInfo.InvariantCulture), Ok: p[2] == "1"))
            .ToList();
        var during = sends.Where(s => s.Due >= from && s.Due < to).ToList();
        // The baseline is the last second before the build: the producer process has warmed up by then.
        var before = sends.Where(s => s.Due >= from - 1000 && s.Due < from).Select(s => s.Ms).ToList();
        results.Add("index-build", "ours", $"{phase}_build_s", (to - from) / 1000.0, "s");
        results.Add("index-build", "ours", $"{phase}_enqueue_p50_ms", Stats.Percentile(during.Select(s => s.Ms), 50), "ms");
        results.Add("index-build", "ours", $"{phase}_enqueue_p99_ms", Stats.Percentile(during.Select(s => s.Ms), 99), "ms");
        results.Add("index-build", "ours", $"{phase}_enqueue_max_ms", during.Count == 0 ? double.NaN : during.Max(s => s.Ms), "ms");
        results.Add("index-build", "ours", $"{phase}_failed_writes", during.Count(s => !s.Ok), "writes");
        results.Add("index-build", "ours", $"{phase}_writes_during_build", during.Count, "writes");
        results.Add("index-build", "ours", $"{phase}_baseline_enqueue_p99_ms", Stats.Percentile(before, 99), "ms");
    }
}
