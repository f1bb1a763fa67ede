namespace Bench.Contenders;

/// <summary>Why it exists: drives <see cref="HangfireCommands"/> (this same console, in its own process) as a contender.</summary>
internal sealed class HangfirePeer(BenchEnvironment env) : ProcessPeer(env)
{
    public override string Name => "hangfire";

    public override string Settings => HangfireCommands.Settings;

    public override string AnyLeftSql => BenchSql.AnyLeftHangfire;

    public override string HoldJobsSql => BenchSql.HoldHangfireJobs;

    protected override ChildProcess Start(BenchDatabase db, string what, IEnumerable<string> args, string latencyFile = "") =>
        ChildProcess.Start("dotnet", [BenchEnvironment.BenchDll, "hangfire", .. args], Env.WorkDir,
            new Dictionary<string, string> { ["BENCH_CONNECTION"] = db.OwnerConnection, ["BENCH_LATENCY_FILE"] = latencyFile }, LogFile(what));
}
