using System.Diagnostics;
using Bench.Contenders;
using JobEngine;
using JobEngine.Sql;
using Npgsql;
using NpgsqlTypes;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: "fast" needs a yardstick. Npgsql loops run exactly the SQL per job our engine
/// runs, connected as the Worker connects (job.sql's InsertJobs through JobClient in batches of
/// 5,000, then ClaimJobs and FinishJobs with our claim batch), with no handler, no scheduling and
/// no second process: the most this PostgreSQL on this machine gives a schema. Three storages in
/// the same run, each with one and with two connections: today's schema before issue 18 (migration
/// 8, jobs finalized in place), the lean live table with the day-partitioned history, and the lean
/// table keeping no history (retention 0). Our drain is reported as a percentage of the history
/// mode on one connection, which is what the Worker runs by default. Issue 18 asked whether
/// finishing one batch and claiming the next in one round trip pays: the history storage on one
/// connection runs that way once more (finish and claim in one NpgsqlBatch, one transaction and one
/// commit per batch instead of two).
/// </summary>
internal sealed class CeilingScenario(BenchEnvironment env, BenchPlan plan, Results results)
{
    private static readonly IReadOnlyDictionary<string, string> BeforeSql = SqlFile.Load(typeof(CeilingScenario).Assembly, "ceiling_before.sql");
    private static readonly string FinishJobsInPlace = BeforeSql.Get(nameof(FinishJobsInPlace));
    private static readonly string AddQueuePauseTable = BeforeSql.Get(nameof(AddQueuePauseTable));

    private enum Storage
    {
        /// <summary>Migration 8's single table, finalized in place.</summary>
        Before,
        /// <summary>The live table; finished jobs move to the history.</summary>
        History,
        /// <summary>The live table; finished jobs are deleted.</summary>
        None,
    }

    public async Task RunAsync(Ours ours, CancellationToken cancellationToken)
    {
        // The storages take turns, run by run: run i of every point (and of the one-round-trip loop)
        // before run i + 1 of any. Run one storage's three after another's, a swing in the machine's
        // load over those minutes landed on whichever ran then, and the ratios moved with it.
        var points = Enum.GetValues<Storage>().SelectMany(storage => ((int[])[1, 2]).Select(connections => (Storage: storage, Connections: connections))).ToList();
        var runs = points.ToDictionary(point => point, _ => (Insert: new List<double>(), Drain: new List<double>()));
        var oneTrip = new List<double>();
        for (var i = 0; i < plan.CeilingRuns; i++)
        {
            foreach (var point in points)
            {
                var (inserted, drained) = await MeasureAsync(ours, point.Storage, point.Connections, cancellationToken).ConfigureAwait(false);
                runs[point].Insert.Add(inserted);
                runs[point].Drain.Add(drained);
            }

            oneTrip.Add((await MeasureAsync(ours, Storage.History, 1, cancellationToken, finishAndClaimTogether: true).ConfigureAwait(false)).Drain);
        }

        foreach (var point in points)
        {
            var name = $"{point.Storage.ToString().ToLowerInvariant()}_{point.Connections}conn";
            results.Add("ceiling", "ceiling", $"{name}_jobs_per_s", Stats.Median(runs[point].Drain), "jobs/s");
            results.Add("ceiling", "ceiling", $"{name}_insert_jobs_per_s", Stats.Median(runs[point].Insert), "jobs/s");
        }

        results.Add("ceiling", "ceiling", "history_1conn_one_round_trip_jobs_per_s", Stats.Median(oneTrip), "jobs/s");
        results.Add("ceiling", "ceiling", "history_1conn_one_round_trip_vs_two", Stats.Median(oneTrip) / (results.Find("ceiling", "ceiling", "history_1conn_jobs_per_s") ?? double.NaN), "x");

        foreach (var mode in (string[])["history", "none"])
        {
            foreach (var connections in (int[])[1, 2])
            {
                results.Add("ceiling", "ceiling", $"{mode}_{connections}conn_vs_before_{connections}conn",
                    (results.Find("ceiling", "ceiling", $"{mode}_{connections}conn_jobs_per_s") ?? double.NaN)
                    / (results.Find("ceiling", "ceiling", $"before_{connections}conn_jobs_per_s") ?? double.NaN), "x");
            }
        }

        var ceiling = results.Find("ceiling", "ceiling", "history_1conn_jobs_per_s") ?? double.NaN;
        results.Add("ceiling", "ceiling", "jobs_per_s", ceiling, "jobs/s");
        results.Add("ceiling", "ours", "jobs_per_s", results.Find("drain", "ours", "jobs_per_s") ?? double.NaN, "jobs/s");
        results.Add("ceiling", "ours", "percent_of_ceiling", (results.Find("drain", "ours", "jobs_per_s") ?? double.NaN) / ceiling * 100, "%");
    }

    private async Task<(double Insert, double Drain)> MeasureAsync(Ours ours, Storage storage, int connections, CancellationToken cancellationToken, bool finishAndClaimTogether = false)
    {
        await using var db = await BenchDatabase.CreateAsync(env, "ceiling", cancellationToken).ConfigureAwait(false);
        await ours.SetupAsync(db, cancellationToken).ConfigureAwait(false);
        if (storage == Storage.Before)
        {
            await ours.MigrateAsync(db, ["rollback", "8"], cancellationToken).ConfigureAwait(false);
            await db.ExecuteAsync(AddQueuePauseTable, cancellationToken).ConfigureAwait(false);
        }

        // Every storage's loops connect as the Worker does (JobsConnectionSettings: statements prepared,
        // custom plans except the claim's): unprepared, each claim was parsed and planned anew, which
        // the engine never does, and that work, the same for every storage, shrank every ratio.
        var connection = new NpgsqlConnectionStringBuilder(db.AppConnection);
        JobsConnectionSettings.ApplyTo(connection);
        await using var source = NpgsqlDataSource.Create(connection.ConnectionString);
        var clock = Stopwatch.StartNew();
        await Ours.EnqueueNoopsAsync(new JobClient(source), plan.DrainJobs, 5000, cancellationToken).ConfigureAwait(false);
        var insertSeconds = clock.Elapsed.TotalSeconds;
        await db.ExecuteAsync("VACUUM ANALYZE jobs.job", cancellationToken).ConfigureAwait(false);
        clock.Restart();
        var drained = await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => ClaimAndFinishAllAsync(source, storage, finishAndClaimTogether, cancellationToken))).ConfigureAwait(false);
        return (plan.DrainJobs / insertSeconds, drained.Sum() / clock.Elapsed.TotalSeconds);
    }

    private static async Task<long> ClaimAndFinishAllAsync(NpgsqlDataSource source, Storage storage, bool finishAndClaimTogether, CancellationToken cancellationToken)
    {
        await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (ids, attempts) = await SendAsync(connection, storage, [], [], claim: true, cancellationToken).ConfigureAwait(false);
        long total = 0;
        while (ids.Count > 0)
        {
            total += ids.Count;
            if (finishAndClaimTogether)
            {
                (ids, attempts) = await SendAsync(connection, storage, ids, attempts, claim: true, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await SendAsync(connection, storage, ids, attempts, claim: false, cancellationToken).ConfigureAwait(false);
                (ids, attempts) = await SendAsync(connection, storage, [], [], claim: true, cancellationToken).ConfigureAwait(false);
            }
        }

        return total;
    }

    /// <summary>
    /// One round trip, as the engine sends it: the outcome of <paramref name="ids"/> (when any; the
    /// two-table storages' FinishJobs after the statement that keeps the planner from looping over
    /// the id list), then, when <paramref name="claim"/>, the claim's settings and ClaimJobs (the
    /// queue has no limit, so no LockQueueClaim), and after outcomes the durable commit they need.
    /// Returns the claimed jobs.
    /// </summary>
    private static async Task<(List<long> Ids, List<short> Attempts)> SendAsync(
        NpgsqlConnection connection, Storage storage, List<long> ids, List<short> attempts, bool claim, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        if (ids.Count > 0)
        {
            if (storage != Storage.Before)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(BenchSql.Engine.Get("DisableNestedLoopsForThisTransaction")));
            }

            var finish = new NpgsqlBatchCommand(storage == Storage.Before ? FinishJobsInPlace : BenchSql.Engine.Get("FinishJobs"));
            batch.BatchCommands.Add(finish);
            finish.Parameters.Add(new() { Value = ids.ToArray() });
            finish.Parameters.Add(new() { Value = attempts.ToArray() });
            finish.Parameters.Add(new() { Value = Enumerable.Repeat(JobState.Completed, ids.Count).ToArray() });
            finish.Parameters.Add(new() { Value = new long[ids.Count] });
            finish.Parameters.Add(new() { Value = new string?[ids.Count], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            if (storage != Storage.Before)
            {
                finish.Parameters.Add(new() { Value = storage == Storage.History });
                finish.Parameters.Add(new() { Value = ids.Min() });
                finish.Parameters.Add(new() { Value = ids.Max() });
            }
        }

        if (claim)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(BenchSql.Engine.Get("ConfigureClaimTransaction")));
            var claimJobs = new NpgsqlBatchCommand(BenchSql.Engine.Get("ClaimJobs"));
            claimJobs.Parameters.Add(new() { Value = NewJob.DefaultQueue });
            claimJobs.Parameters.Add(new() { Value = Ours.ClaimBatchSize });
            claimJobs.Parameters.Add(new() { Value = "ceiling" });
            claimJobs.Parameters.Add(new() { Value = 30_000.0 });
            batch.BatchCommands.Add(claimJobs);
            if (ids.Count > 0)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(BenchSql.WaitForFlushAtCommit));
            }
        }

        var claimed = (Ids: new List<long>(Ours.ClaimBatchSize), Attempts: new List<short>(Ours.ClaimBatchSize));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!claim)
        {
            return claimed;
        }

        // The claim's rows are the last result set.
        while (reader.FieldCount == 0 || reader.GetName(0) != "id")
        {
            if (!await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("ClaimJobs returned no result set.");
            }
        }

        var (id, attempt) = (reader.GetOrdinal("id"), reader.GetOrdinal("attempt"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            claimed.Ids.Add(reader.GetFieldValue<long>(id));
            claimed.Attempts.Add(reader.GetFieldValue<short>(attempt));
        }

        return claimed;
    }
}
