namespace JobEngine.Sql;

/// <summary>The named queries of <c>worker.sql</c>; each property is the query of the same name.</summary>
internal static class WorkerSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(WorkerSql).Assembly, "worker.sql");

    public static readonly string RecordWorkerHeartbeat = Queries.Get(nameof(RecordWorkerHeartbeat));
    public static readonly string AnyWorkerGone = Queries.Get(nameof(AnyWorkerGone));
    public static readonly string ForgetGoneWorkers = Queries.Get(nameof(ForgetGoneWorkers));
    public static readonly string RemoveWorker = Queries.Get(nameof(RemoveWorker));
}
