namespace Bench.Contenders;

/// <summary>
/// Why it exists: Graphile Worker and pg-boss run from bench/peers/peer.mjs on the machine's
/// Node.js, installed from npm by bench/run.sh; this drives that script as a contender.
/// </summary>
internal sealed class NodePeer(BenchEnvironment env, string name, string peer, string anyLeftSql, string holdJobsSql, string settings) : ProcessPeer(env)
{
    public override string Name => name;

    public override string Settings => settings;

    public override string AnyLeftSql => anyLeftSql;

    public override string HoldJobsSql => holdJobsSql;

    public static NodePeer Graphile(BenchEnvironment env) => new(env, "graphile-worker", "graphile", BenchSql.AnyLeftGraphile, BenchSql.HoldGraphileJobs,
        "graphile-worker 0.18.0: concurrency 64, preset.worker.localQueue.size 1000, completeJobBatchDelay 0, failJobBatchDelay 0, pollInterval 1000 ms (LISTEN/NOTIFY on, its default), silent logger; jobs added with addJobs in batches of 5,000");

    public static NodePeer PgBoss(BenchEnvironment env) => new(env, "pg-boss", "pgboss", BenchSql.AnyLeftPgBoss, BenchSql.HoldPgBossJobs,
        "pg-boss 12.38.0: work() batchSize 100, localConcurrency 1, pollingIntervalSeconds 0.5, burstWhenBatchFull true, useListenNotify true with queue notify true, pool max 10, supervise and schedule off; jobs added with insert() in batches of 5,000");

    protected override ChildProcess Start(BenchDatabase db, string what, IEnumerable<string> args, string latencyFile = "") =>
        ChildProcess.Start("node", ["peer.mjs", peer, .. args], Env.PeersDir,
            new Dictionary<string, string> { ["BENCH_DATABASE_URL"] = db.OwnerUrl, ["BENCH_LATENCY_FILE"] = latencyFile }, LogFile(what));
}
