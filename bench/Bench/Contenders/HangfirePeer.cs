namespace Bench.Contenders;

/// <summary>Why it exists: drives <see cref="HangfireCommands"/> (this same console, in its own process) as a contender.</summary>
internal sealed class HangfirePeer(BenchEnvironment env) : Contender(env)
{
    public override string Name => "hangfire";

    public override string Settings => HangfireCommands.Settings;

    public override string RemainingSql => BenchSql.RemainingHangfire;

    private ChildProcess Start(BenchDatabase db, string what, IEnumerable<string> args, string latencyFile = "") =>
        ChildProcess.Start("dotnet", [BenchEnvironment.BenchDll, "hangfire", .. args], Env.WorkDir,
            new Dictionary<string, string> { ["BENCH_CONNECTION"] = db.OwnerConnection, ["BENCH_LATENCY_FILE"] = latencyFile }, LogFile(what));

    public override async Task SetupAsync(BenchDatabase db, CancellationToken cancellationToken)
    {
        using var setup = Start(db, "setup", ["setup"]);
        await setup.WaitForSuccessAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
    }

    public override async Task EnqueueAsync(BenchDatabase db, int count, CancellationToken cancellationToken)
    {
        using var enqueue = Start(db, "enqueue", ["enqueue", count.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await enqueue.WaitForSuccessAsync(TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
    }

    public override ChildProcess StartWorker(BenchDatabase db, int index, string latencyFile) => Start(db, $"worker{index}", ["work"], latencyFile);

    public override Task WaitUntilReadyAsync(BenchDatabase db, ChildProcess worker, CancellationToken cancellationToken) =>
        worker.WaitForLineAsync("ready", TimeSpan.FromSeconds(60), cancellationToken);

    public override async Task<ProducerSummary> ProduceAsync(BenchDatabase db, int rate, double seconds, CancellationToken cancellationToken)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        using var producer = Start(db, "producer", ["produce", rate.ToString(inv), seconds.ToString(inv)]);
        return ParseSummary(await producer.WaitForSuccessAsync(TimeSpan.FromSeconds(seconds + 60), cancellationToken).ConfigureAwait(false));
    }
}
