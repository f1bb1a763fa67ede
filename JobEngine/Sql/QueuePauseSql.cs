namespace JobEngine.Sql;

/// <summary>The named queries of <c>queue_pause.sql</c>; each property is the query of the same name.</summary>
internal static class QueuePauseSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(QueuePauseSql).Assembly, "queue_pause.sql");

    public static readonly string PauseQueue = Queries.Get(nameof(PauseQueue));
    public static readonly string ResumeQueue = Queries.Get(nameof(ResumeQueue));
    public static readonly string SelectPausedQueues = Queries.Get(nameof(SelectPausedQueues));
}
