using Bench.Contenders;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: a queue that is fast on an empty table and slow after a month of history is a
/// trap. Our table keeps finalized jobs until the pruner deletes them, so the drain and the claim
/// statement are measured again with 1,000,000 completed jobs in the table, against drains of an
/// empty table taken in turn with them (a run's load drifts over its minutes: the drain scenario's
/// own figure, taken ten minutes earlier, moved this ratio from 70 % to 143 % between two runs of
/// one build). The aged database is handed on to the index-build scenario.
/// </summary>
internal sealed class AgeingScenario(BenchEnvironment env, BenchPlan plan, Results results, DrainScenario drain)
{
    public async Task<BenchDatabase> RunAsync(Ours ours, CancellationToken cancellationToken)
    {
        var db = await BenchDatabase.CreateAsync(env, "ours_aged", cancellationToken).ConfigureAwait(false);
        await ours.SetupAsync(db, cancellationToken).ConfigureAwait(false);
        await db.ExecuteAsync(BenchSql.SeedFinalizedJobs, cancellationToken, 600, plan.AgeingRows).ConfigureAwait(false);
        // The history a busy system leaves behind was vacuumed by autovacuum as it grew; seeded at
        // once, its first vacuum (1,000,000 rows) would run inside the first aged drain instead.
        await db.ExecuteAsync("VACUUM (ANALYZE) jobs.job_history", cancellationToken).ConfigureAwait(false);

        var runs = new List<DrainRun>();
        var empties = new List<DrainRun>();
        for (var i = 0; i < plan.Runs; i++)
        {
            empties.Add(await drain.MeasureAsync(ours, 1, plan.DrainJobs, null, cancellationToken).ConfigureAwait(false));
            // Each empty run gets a fresh database; each aged run, a live table vacuumed after the
            // previous drain (as autovacuum would between them), so what differs is the history.
            await db.ExecuteAsync("VACUUM (ANALYZE) jobs.job", cancellationToken).ConfigureAwait(false);
            runs.Add(await drain.MeasureAsync(ours, 1, plan.DrainJobs, db, cancellationToken).ConfigureAwait(false));
        }

        var aged = Stats.Median(runs.Select(r => r.JobsPerSecond));
        var empty = Stats.Median(empties.Select(r => r.JobsPerSecond));
        results.Add("ageing", "ours", "finalized_rows", plan.AgeingRows, "rows");
        results.Add("ageing", "ours", "jobs_per_s_empty", empty, "jobs/s");
        results.Add("ageing", "ours", "jobs_per_s_aged", aged, "jobs/s");
        results.Add("ageing", "ours", "aged_vs_empty_percent", aged / empty * 100, "%");
        results.Add("ageing", "ours", "claim_ms_mean_empty", Stats.Median(empties.Select(DrainScenario.ClaimMeanMs)), "ms");
        results.Add("ageing", "ours", "claim_ms_mean_aged", Stats.Median(runs.Select(DrainScenario.ClaimMeanMs)), "ms");
        drain.AddDiagnosis("ageing", "ours", runs);
        results.Add("ageing", "ours", "peak_rss_mb", runs.Max(r => r.PeakRssMb), "MB");
        return db;
    }
}
