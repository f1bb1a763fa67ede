using Bench.Contenders;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: a queue that is fast on an empty table and slow after a month of history is a
/// trap. Our table keeps finalized jobs until the pruner deletes them, so the drain and the claim
/// statement are measured again with 1,000,000 completed jobs in the table, against the empty
/// table of the drain scenario. The aged database is handed on to the index-build scenario.
/// </summary>
internal sealed class AgeingScenario(BenchEnvironment env, BenchPlan plan, Results results, DrainScenario drain)
{
    public async Task<BenchDatabase> RunAsync(Ours ours, CancellationToken cancellationToken)
    {
        var db = await BenchDatabase.CreateAsync(env, "ours_aged", cancellationToken).ConfigureAwait(false);
        await ours.SetupAsync(db, cancellationToken).ConfigureAwait(false);
        await db.ExecuteAsync(BenchSql.SeedFinalizedJobs, cancellationToken, 600, plan.AgeingRows).ConfigureAwait(false);

        var runs = new List<DrainRun>();
        for (var i = 0; i < plan.Runs; i++)
        {
            // Each empty run gets a fresh database; each aged run, a live table vacuumed after the
            // previous drain (as autovacuum would between them), so what differs is the history.
            await db.ExecuteAsync("VACUUM (ANALYZE) jobs.job", cancellationToken).ConfigureAwait(false);
            runs.Add(await drain.MeasureAsync(ours, 1, plan.DrainJobs, db, cancellationToken).ConfigureAwait(false));
        }

        var aged = Stats.Median(runs.Select(r => r.JobsPerSecond));
        var empty = results.Find("drain", "ours", "jobs_per_s") ?? double.NaN;
        results.Add("ageing", "ours", "finalized_rows", plan.AgeingRows, "rows");
        results.Add("ageing", "ours", "jobs_per_s_empty", empty, "jobs/s");
        results.Add("ageing", "ours", "jobs_per_s_aged", aged, "jobs/s");
        results.Add("ageing", "ours", "aged_vs_empty_percent", aged / empty * 100, "%");
        results.Add("ageing", "ours", "claim_ms_mean_empty", results.Find("drain", "ours", "claim_ms_mean") ?? double.NaN, "ms");
        results.Add("ageing", "ours", "claim_ms_mean_aged", Stats.Median(runs.Select(DrainScenario.ClaimMeanMs)), "ms");
        drain.AddDiagnosis("ageing", "ours", runs);
        results.Add("ageing", "ours", "peak_rss_mb", runs.Max(r => r.PeakRssMb), "MB");
        return db;
    }
}
