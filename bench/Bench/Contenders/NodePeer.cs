namespace Bench.Contenders;

/// <summary>
/// Why it exists: Graphile Worker and pg-boss run from bench/peers/peer.mjs on the machine's
/// Node.js, installed from npm by bench/run.sh; this drives that script as a contender.
/// </summary>
internal sealed class NodePeer(BenchEnvironment env, string name, string peer, string remainingSql, string settings) : Contender(env)
{
    public override string Name => name;

    public override string Settings => settings;

    public override string RemainingSql => remainingSql;

    public static NodePeer Graphile(BenchEnvironment env) => new(env, "graphile-worker", "graphile", BenchSql.RemainingGraphile,
        "graphile-worker 0.18.0: concurrency 64, preset.worker.localQueue.size 1000, completeJobBatchDelay 0, failJobBatchDelay 0, pollInterval 1000 ms (LISTEN/NOTIFY on, its default), silent logger; jobs added with addJobs in batches of 5,000");

    public static NodePeer PgBoss(BenchEnvironment env) => new(env, "pg-boss", "pgboss", BenchSql.RemainingPgBoss,
        "pg-boss 12.38.0: work() batchSize 100, localConcurrency 1, pollingIntervalSeconds 0.5, burstWhenBatchFull true, useListenNotify true with queue notify true, pool max 10, supervise and schedule off; jobs added with insert() in batches of 5,000");

    private Dictionary<string, string> Environment(BenchDatabase db, string latencyFile = "") => new()
    {
        ["BENCH_DATABASE_URL"] = db.OwnerUrl,
        ["BENCH_LATENCY_FILE"] = latencyFile,
    };

    private ChildProcess Node(BenchDatabase db, string what, IEnumerable<string> args, string latencyFile = "") =>
        ChildProcess.Start("node", ["peer.mjs", peer, .. args], Env.PeersDir, Environment(db, latencyFile), LogFile(what));

    public override async Task SetupAsync(BenchDatabase db, CancellationToken cancellationToken)
    {
        using var setup = Node(db, "setup", ["setup"]);
        await setup.WaitForSuccessAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
    }

    public override async Task EnqueueAsync(BenchDatabase db, int count, CancellationToken cancellationToken)
    {
        using var enqueue = Node(db, "enqueue", ["enqueue", count.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await enqueue.WaitForSuccessAsync(TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
    }

    public override ChildProcess StartWorker(BenchDatabase db, int index, string latencyFile) => Node(db, $"worker{index}", ["work"], latencyFile);

    public override Task WaitUntilReadyAsync(BenchDatabase db, ChildProcess worker, CancellationToken cancellationToken) =>
        worker.WaitForLineAsync("ready", TimeSpan.FromSeconds(60), cancellationToken);

    public override async Task<ProducerSummary> ProduceAsync(BenchDatabase db, int rate, double seconds, CancellationToken cancellationToken)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        using var producer = Node(db, "producer", ["produce", rate.ToString(inv), seconds.ToString(inv)]);
        return ParseSummary(await producer.WaitForSuccessAsync(TimeSpan.FromSeconds(seconds + 60), cancellationToken).ConfigureAwait(false));
    }
}
