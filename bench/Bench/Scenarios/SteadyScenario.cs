using Bench.Contenders;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: users feel pickup latency, not throughput. One worker process runs while a
/// separate producer process enqueues at fixed rates (100/s, 1,000/s, then higher until the
/// contender fails); each rate reports enqueue-to-start p50/p95/p99, and the highest rate held
/// with p99 under 100 ms is the contender's sustained rate. The worker first takes the first rate
/// for a few seconds, reported apart as its cold start, so the rates measure a settled worker.
/// The rates up to 1,000/s (the targets') and the cold start are measured in as many rounds as the
/// drain has runs, the contenders taking turns round by round, and each figure is the median of its
/// rounds: measured once each, minutes apart, a swing in the machine's load (both contenders' p50
/// moved by 0.5-1 ms between runs of one build) decided which contender was ahead. The higher rates
/// run in the first round only.
/// </summary>
internal sealed class SteadyScenario(BenchEnvironment env, BenchPlan plan, Results results)
{
    private const double SustainedP99Ms = 100;

    // The highest rate measured again in every round; above it, one round.
    private const int RepeatedUpToRate = 1000;

    public async Task RunAsync(IReadOnlyList<Contender> contenders, CancellationToken cancellationToken)
    {
        var rounds = contenders.ToDictionary(c => c.Name, _ => new List<SteadyRound>());
        for (var round = 0; round < plan.Runs; round++)
        {
            foreach (var contender in contenders)
            {
                // Later rounds repeat the first round's held rates up to 1,000/s; a contender that
                // held none (Hangfire) is not run again.
                int[] rates = round == 0
                    ? plan.SteadyRates
                    : [.. rounds[contender.Name][0].Windows.Where(w => w.Held && w.Rate <= RepeatedUpToRate).Select(w => w.Rate)];
                if (rates.Length > 0)
                {
                    rounds[contender.Name].Add(await RunRoundAsync(contender, rates, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        foreach (var contender in contenders)
        {
            Report(contender.Name, rounds[contender.Name]);
        }
    }

    private async Task<SteadyRound> RunRoundAsync(Contender contender, int[] rates, CancellationToken cancellationToken)
    {
        await using var db = await BenchDatabase.CreateAsync(env, contender.Name, cancellationToken).ConfigureAwait(false);
        await contender.SetupAsync(db, cancellationToken).ConfigureAwait(false);
        var latencyFile = Path.Combine(env.WorkDir, $"{contender.Name}-steady-starts.txt");
        File.Delete(latencyFile);
        var windows = new List<(int Rate, long From, long To, ProducerSummary Producer, bool CaughtUp)>();
        double rss;
        (long From, long To) coldStart;
        using (var worker = contender.StartWorker(db, 1, latencyFile))
        {
            await contender.WaitUntilReadyAsync(db, [worker], cancellationToken).ConfigureAwait(false);
            coldStart.From = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await contender.ProduceAsync(db, rates[0], plan.ColdStartSeconds, cancellationToken).ConfigureAwait(false);
            coldStart.To = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await CatchUpAsync(db, contender, plan.CatchUpLimit, cancellationToken).ConfigureAwait(false);
            foreach (var rate in rates)
            {
                var from = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (long)(plan.WarmupSeconds * 1000);
                var producer = await contender.ProduceAsync(db, rate, plan.SteadySeconds, cancellationToken).ConfigureAwait(false);
                var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var caughtUp = await CatchUpAsync(db, contender, plan.CatchUpLimit, cancellationToken).ConfigureAwait(false);
                windows.Add((rate, from, to, producer, caughtUp));
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
        var round = new SteadyRound(
            Stats.Percentile(coldLatencies, 50), Stats.Percentile(coldLatencies, 99), coldLatencies.Count == 0 ? double.NaN : coldLatencies.Max(),
            [.. windows.Select(w =>
            {
                var latencies = StartLatencies(starts, w.From, w.To);
                var p99 = Stats.Percentile(latencies, 99);
                var held = w.CaughtUp && p99 < SustainedP99Ms && w.Producer.Rate >= w.Rate * 0.95 && latencies.Count > 0;
                return new SteadyWindow(w.Rate, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 95), p99, w.Producer.Rate, held);
            })],
            rss);
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"[bench] steady {contender.Name}, one round: cold start p99 {round.ColdP99:0.##} ms; {string.Join("; ", round.Windows.Select(w => $"{w.Rate}/s p50 {w.P50:0.##} p99 {w.P99:0.##} ms"))}"));
        return round;
    }

    /// <summary>Each figure as the median of the rounds that measured it; the sustained rate from those medians.</summary>
    private void Report(string contender, List<SteadyRound> rounds)
    {
        if (rounds.Count == 0)
        {
            return;
        }

        var firstRate = plan.SteadyRates[0];
        results.Add("steady", contender, $"cold_start_p50_ms_at_{firstRate}", Stats.Median(rounds.Select(r => r.ColdP50)), "ms");
        results.Add("steady", contender, $"cold_start_p99_ms_at_{firstRate}", Stats.Median(rounds.Select(r => r.ColdP99)), "ms");
        results.Add("steady", contender, $"cold_start_max_ms_at_{firstRate}", Stats.Median(rounds.Select(r => r.ColdMax)), "ms");
        var sustained = 0;
        foreach (var rate in rounds[0].Windows.Select(w => w.Rate))
        {
            var measured = rounds.SelectMany(r => r.Windows).Where(w => w.Rate == rate).ToList();
            var p99 = Stats.Median(measured.Select(w => w.P99));
            var producerRate = Stats.Median(measured.Select(w => w.ProducerRate));
            results.Add("steady", contender, $"p50_ms_at_{rate}", Stats.Median(measured.Select(w => w.P50)), "ms");
            results.Add("steady", contender, $"p95_ms_at_{rate}", Stats.Median(measured.Select(w => w.P95)), "ms");
            results.Add("steady", contender, $"p99_ms_at_{rate}", p99, "ms");
            results.Add("steady", contender, $"producer_rate_at_{rate}", producerRate, "jobs/s");
            results.Add("steady", contender, $"rounds_at_{rate}", measured.Count, "rounds");
            if (p99 < SustainedP99Ms && producerRate >= rate * 0.95 && measured.Any(w => w.Held))
            {
                sustained = Math.Max(sustained, rate);
            }
        }

        results.Add("steady", contender, "max_sustained_rate", sustained, "jobs/s");
        results.Add("steady", contender, "peak_rss_mb", rounds.Max(r => r.PeakRssMb), "MB");
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

    /// <summary>One rate's figures in one round; <paramref name="Held"/>: caught up, p99 under 100 ms, the producer at 95 % of the rate.</summary>
    private sealed record SteadyWindow(int Rate, double P50, double P95, double P99, double ProducerRate, bool Held);

    /// <summary>One round of one contender: its cold start, its rates and its worker's peak memory.</summary>
    private sealed record SteadyRound(double ColdP50, double ColdP99, double ColdMax, IReadOnlyList<SteadyWindow> Windows, double PeakRssMb);
}
