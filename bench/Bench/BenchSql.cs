using JobEngine.Sql;

namespace Bench;

/// <summary>Why it exists: the driver's SQL lives in <c>Sql/bench.sql</c>; this names each query once.</summary>
internal static class BenchSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(BenchSql).Assembly, "bench.sql");

    /// <summary>The engine's own queries, so the ceiling runs exactly the SQL the Worker runs.</summary>
    public static readonly IReadOnlyDictionary<string, string> Engine = SqlFile.Load(typeof(JobEngine.JobClient).Assembly, "job.sql");

    /// <summary>The engine's pause and resume of a queue: ours is held by a paused queue (see <see cref="Contenders.Ours.HoldJobsAsync"/>).</summary>
    public static readonly string ResumeOursQueue = SqlFile.Load(typeof(JobEngine.JobClient).Assembly, "queue_pause.sql").Get("ResumeQueue");

    public static readonly string AnyLeftOurs = Queries.Get(nameof(AnyLeftOurs));
    public static readonly string AnyLeftGraphile = Queries.Get(nameof(AnyLeftGraphile));
    public static readonly string AnyLeftPgBoss = Queries.Get(nameof(AnyLeftPgBoss));
    public static readonly string AnyLeftHangfire = Queries.Get(nameof(AnyLeftHangfire));
    public static readonly string WorkersRegistered = Queries.Get(nameof(WorkersRegistered));
    public static readonly string HoldGraphileJobs = Queries.Get(nameof(HoldGraphileJobs));
    public static readonly string HoldPgBossJobs = Queries.Get(nameof(HoldPgBossJobs));
    public static readonly string HoldHangfireJobs = Queries.Get(nameof(HoldHangfireJobs));
    public static readonly string SeedFinalizedJobs = Queries.Get(nameof(SeedFinalizedJobs));
    public static readonly string WaitForFlushAtCommit = Queries.Get(nameof(WaitForFlushAtCommit));
    public static readonly string CountJobs = Queries.Get(nameof(CountJobs));
    public static readonly string StatementStats = Queries.Get(nameof(StatementStats));
    public static readonly string ServerSettings = Queries.Get(nameof(ServerSettings));
    public static readonly string MaxJobId = Queries.Get(nameof(MaxJobId));
    public static readonly string OursDrainDiagnosis = Queries.Get(nameof(OursDrainDiagnosis));
    public static readonly string PlainCreateIndexes = Queries.Get(nameof(PlainCreateIndexes));
    public static readonly string FinalizedAmong = Queries.Get(nameof(FinalizedAmong));
    public static readonly string WorkflowStepTimes = Queries.Get(nameof(WorkflowStepTimes));
}
