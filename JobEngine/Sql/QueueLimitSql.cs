namespace JobEngine.Sql;

/// <summary>The named queries of <c>queue_limit.sql</c>; each property is the query of the same name.</summary>
internal static class QueueLimitSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(QueueLimitSql).Assembly, "queue_limit.sql");

    public static readonly string UpsertQueueLimit = Queries.Get(nameof(UpsertQueueLimit));
    public static readonly string SelectLimitedQueues = Queries.Get(nameof(SelectLimitedQueues));
    public static readonly string PruneQueueStarts = Queries.Get(nameof(PruneQueueStarts));
    public static readonly string SelectQueueLimits = Queries.Get(nameof(SelectQueueLimits));
}
