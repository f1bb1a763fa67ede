using System.Diagnostics;
using Bench.Contenders;
using JobEngine;
using JobEngine.Sql;
using Npgsql;
using NpgsqlTypes;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: "fast" needs a yardstick. One Npgsql loop on one connection runs exactly the SQL
/// per job our engine runs (job.sql's InsertJobs through JobClient in batches of 5,000, then
/// ClaimJobs and FinishJobs with our claim batch), with no handler, no scheduling and no second
/// process: the most this PostgreSQL on this machine gives our schema. Our drain is reported as
/// a percentage of its claim+complete rate.
/// </summary>
internal sealed class CeilingScenario(BenchEnvironment env, BenchPlan plan, Results results)
{
    public async Task RunAsync(Ours ours, CancellationToken cancellationToken)
    {
        var insert = new List<double>();
        var drain = new List<double>();
        var cycle = new List<double>();
        for (var i = 0; i < plan.Runs; i++)
        {
            await using var db = await BenchDatabase.CreateAsync(env, "ceiling", cancellationToken).ConfigureAwait(false);
            await ours.SetupAsync(db, cancellationToken).ConfigureAwait(false);
            await using var source = NpgsqlDataSource.Create(db.AppConnection);
            var clock = Stopwatch.StartNew();
            await Ours.EnqueueNoopsAsync(new JobClient(source), plan.DrainJobs, 5000, cancellationToken).ConfigureAwait(false);
            var insertSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var drained = await ClaimAndFinishAllAsync(source, cancellationToken).ConfigureAwait(false);
            var drainSeconds = clock.Elapsed.TotalSeconds;
            insert.Add(plan.DrainJobs / insertSeconds);
            drain.Add(drained / drainSeconds);
            cycle.Add(plan.DrainJobs / (insertSeconds + drainSeconds));
        }

        var ceiling = Stats.Median(drain);
        results.Add("ceiling", "ceiling", "jobs_per_s", ceiling, "jobs/s");
        results.Add("ceiling", "ceiling", "insert_jobs_per_s", Stats.Median(insert), "jobs/s");
        results.Add("ceiling", "ceiling", "insert_claim_complete_jobs_per_s", Stats.Median(cycle), "jobs/s");
        results.Add("ceiling", "ours", "jobs_per_s", results.Find("drain", "ours", "jobs_per_s") ?? double.NaN, "jobs/s");
        results.Add("ceiling", "ours", "percent_of_ceiling", (results.Find("drain", "ours", "jobs_per_s") ?? double.NaN) / ceiling * 100, "%");
    }

    private static async Task<long> ClaimAndFinishAllAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        var claimSql = BenchSql.Engine.Get("ClaimJobs");
        var finishSql = BenchSql.Engine.Get("FinishJobs");
        await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        long total = 0;
        while (true)
        {
            var ids = new List<long>(Ours.ClaimBatchSize);
            var attempts = new List<short>(Ours.ClaimBatchSize);
            await using (var claim = new NpgsqlCommand(claimSql, connection))
            {
                claim.Parameters.Add(new() { Value = NewJob.DefaultQueue });
                claim.Parameters.Add(new() { Value = Ours.ClaimBatchSize });
                claim.Parameters.Add(new() { Value = "ceiling" });
                claim.Parameters.Add(new() { Value = 30_000.0 });
                await using var reader = await claim.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    ids.Add(reader.GetInt64(0));
                    attempts.Add(reader.GetInt16(4));
                }
            }

            if (ids.Count == 0)
            {
                return total;
            }

            await using (var finish = new NpgsqlCommand(finishSql, connection))
            {
                finish.Parameters.Add(new() { Value = ids.ToArray() });
                finish.Parameters.Add(new() { Value = attempts.ToArray() });
                finish.Parameters.Add(new() { Value = Enumerable.Repeat(JobState.Completed, ids.Count).ToArray() });
                finish.Parameters.Add(new() { Value = new long[ids.Count] });
                finish.Parameters.Add(new() { Value = new string?[ids.Count], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
                await finish.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            total += ids.Count;
        }
    }
}
