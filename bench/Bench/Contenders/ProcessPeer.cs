namespace Bench.Contenders;

/// <summary>
/// Why it exists: each peer is a command line with the same verbs (<c>setup</c>, <c>enqueue N</c>,
/// <c>work</c>, <c>produce RATE SECONDS</c>; a worker prints <c>ready</c>), so only how that
/// command is started differs between them.
/// </summary>
internal abstract class ProcessPeer(BenchEnvironment env) : Contender(env)
{
    /// <summary>Starts the peer's command line with <paramref name="args"/>, logging as <paramref name="what"/>.</summary>
    protected abstract ChildProcess Start(BenchDatabase db, string what, IEnumerable<string> args, string latencyFile = "");

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

    public override async Task WaitUntilReadyAsync(BenchDatabase db, IReadOnlyList<ChildProcess> workers, CancellationToken cancellationToken)
    {
        foreach (var worker in workers)
        {
            await worker.WaitForLineAsync("ready", TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task<ProducerSummary> ProduceAsync(BenchDatabase db, int rate, double seconds, CancellationToken cancellationToken)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        using var producer = Start(db, "producer", ["produce", rate.ToString(inv), seconds.ToString(inv)]);
        return ParseSummary(await producer.WaitForSuccessAsync(TimeSpan.FromSeconds(seconds + 60), cancellationToken).ConfigureAwait(false));
    }
}
