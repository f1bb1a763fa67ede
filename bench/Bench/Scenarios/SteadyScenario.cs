using Bench.Contenders;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: users feel pickup latency, not throughput. One worker process runs while a
/// separate producer process enqueues at fixed rates (100/s, 1,000/s, then higher until the
/// contender fails); each rate reports enqueue-to-start p50/p95/p99, and the highest rate held
/// with p99 under 100 ms is the contender's sustained rate. The worker first takes the first rate
/// for a few seconds, reported apart as its cold start, so the rates measure a settled worker.
/// </summary>
internal sealed class SteadyScenario(BenchEnvironment env, BenchPlan plan, Results results)
{
    private const double SustainedP99Ms = 100;

    public async Task RunAsync(IReadOnlyList<Contender> contenders, CancellationToken cancellationToken)
    {
        foreach (var contender in contenders)
        {
            await RunOneAsync(contender, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RunOneAsync(Contender contender, CancellationToken cancellationToken)
    {
        await using var db = await BenchDatabase.CreateAsync(env, contender.Name, cancellationToken).ConfigureAwait(false);
        await contender.SetupAsync(db, cancellationToken).ConfigureAwait(false);
        var latencyFile = Path.Combine(env.WorkDir, $"{contender.Name}-steady-starts.txt");
        File.Delete(latencyFile);
        var windows = new List<(int Rate, long From, long To, ProducerSummary Producer)>();
        double rss;
        (long From, long To) coldStart;
        using (var worker = contender.StartWorker(db, 1, latencyFile))
        {
            await contender.WaitUntilReadyAsync(db, [worker], cancellationToken).ConfigureAwait(false);
            coldStart.From = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await contender.ProduceAsync(db, plan.SteadyRates[0], plan.ColdStartSeconds, cancellationToken).ConfigureAwait(false);
            coldStart.To = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await CatchUpAsync(db, contender, plan.CatchUpLimit, cancellationToken).ConfigureAwait(false);
            foreach (var rate in plan.SteadyRates)
            {
                var from = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (long)(plan.WarmupSeconds * 1000);
                var producer = await contender.ProduceAsync(db, rate, plan.SteadySeconds, cancellationToken).ConfigureAwait(false);
                var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                windows.Add((rate, from, to, producer));
                var caughtUp = await CatchUpAsync(db, contender, plan.CatchUpLimit, cancellationToken).ConfigureAwait(false);
                if (!caughtUp)
                {
                    results.Notes.Add($"- steady, {contender.Name}: jobs produced at {rate}/s were still unfinished {plan.CatchUpLimit.TotalSeconds:0} s after the producer stopped; later rates were skipped.");
                }

                // From 1,000/s on, stop at the first rate the contender cannot hold (its backlog
                // does not clear, or the producer itself could not send that fast).
                if (!caughtUp || (rate >= 1000 && producer.Rate < rate * 0.95))
                {
                    break;
                }
            }

            rss = worker.PeakRssMb();
            await worker.StopAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        var starts = await Contender.ReadStartsAsync(latencyFile, cancellationToken).ConfigureAwait(false);
        var coldLatencies = StartLatencies(starts, coldStart.From, coldStart.To);
        results.Add("steady", contender.Name, $"cold_start_p50_ms_at_{plan.SteadyRates[0]}", Stats.Percentile(coldLatencies, 50), "ms");
        results.Add("steady", contender.Name, $"cold_start_p99_ms_at_{plan.SteadyRates[0]}", Stats.Percentile(coldLatencies, 99), "ms");
        results.Add("steady", contender.Name, $"cold_start_max_ms_at_{plan.SteadyRates[0]}", coldLatencies.Count == 0 ? double.NaN : coldLatencies.Max(), "ms");
        var sustained = 0;
        foreach (var (rate, from, to, producer) in windows)
        {
            var latencies = StartLatencies(starts, from, to);
            var p99 = Stats.Percentile(latencies, 99);
            results.Add("steady", contender.Name, $"p50_ms_at_{rate}", Stats.Percentile(latencies, 50), "ms");
            results.Add("steady", contender.Name, $"p95_ms_at_{rate}", Stats.Percentile(latencies, 95), "ms");
            results.Add("steady", contender.Name, $"p99_ms_at_{rate}", p99, "ms");
            results.Add("steady", contender.Name, $"producer_rate_at_{rate}", producer.Rate, "jobs/s");
            if (p99 < SustainedP99Ms && producer.Rate >= rate * 0.95 && latencies.Count > 0)
            {
                sustained = Math.Max(sustained, rate);
            }
        }

        results.Add("steady", contender.Name, "max_sustained_rate", sustained, "jobs/s");
        results.Add("steady", contender.Name, "peak_rss_mb", rss, "MB");
    }

    /// <summary>Enqueue-to-start latencies (ms) of the jobs created in [from, to) (Unix ms).</summary>
    private static List<double> StartLatencies(List<(double Created, double Started)> starts, long from, long to) =>
        [.. starts.Where(s => s.Created >= from && s.Created < to).Select(s => s.Started - s.Created)];

    /// <summary>Waits (bounded) for the backlog to clear before the next rate; false when it does not.</summary>
    private static async Task<bool> CatchUpAsync(BenchDatabase db, Contender contender, TimeSpan limit, CancellationToken cancellationToken)
    {
        try
        {
            await Poll.UntilAsync(async () => await db.ScalarAsync(contender.AnyLeftSql, cancellationToken).ConfigureAwait(false) == 0,
                limit, $"{contender.Name} to catch up", cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
