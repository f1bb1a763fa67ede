using JobEngine.Sql;

namespace Api.Sql;

/// <summary>The Api's named queries (<c>admin.sql</c>, <c>bulk.sql</c>, <c>stats.sql</c>); each property is the query of the same name.</summary>
internal static class ApiSql
{
    private static readonly IReadOnlyDictionary<string, string> Admin = SqlFile.Load(typeof(ApiSql).Assembly, "admin.sql");
    private static readonly IReadOnlyDictionary<string, string> Bulk = SqlFile.Load(typeof(ApiSql).Assembly, "bulk.sql");
    private static readonly IReadOnlyDictionary<string, string> Stats = SqlFile.Load(typeof(ApiSql).Assembly, "stats.sql");

    public static readonly string SelectRegisteredKinds = Admin.Get(nameof(SelectRegisteredKinds));
    public static readonly string ListJobs = Admin.Get(nameof(ListJobs));
    public static readonly string SelectTraceParent = Admin.Get(nameof(SelectTraceParent));
    public static readonly string SelectServedQueues = Admin.Get(nameof(SelectServedQueues));
    public static readonly string ListQueueWorkers = Admin.Get(nameof(ListQueueWorkers));
    public static readonly string ListWorkflows = Admin.Get(nameof(ListWorkflows));

    public static readonly string RetryJobsBatch = Bulk.Get(nameof(RetryJobsBatch));
    public static readonly string CountRetryableJobs = Bulk.Get(nameof(CountRetryableJobs));
    public static readonly string CancelJobsBatch = Bulk.Get(nameof(CancelJobsBatch));
    public static readonly string CountCancellableJobs = Bulk.Get(nameof(CountCancellableJobs));

    public static readonly string CountByQueueAndState = Stats.Get(nameof(CountByQueueAndState));
    public static readonly string FinishedPerMinute = Stats.Get(nameof(FinishedPerMinute));
    public static readonly string QueueLatency = Stats.Get(nameof(QueueLatency));
    public static readonly string QueueLatencyByQueue = Stats.Get(nameof(QueueLatencyByQueue));
}
