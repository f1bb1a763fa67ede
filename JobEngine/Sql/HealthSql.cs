namespace JobEngine.Sql;

/// <summary>The named queries of <c>health.sql</c>; each property is the query of the same name.</summary>
internal static class HealthSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(HealthSql).Assembly, "health.sql");

    public static readonly string TopStatements = Queries.Get(nameof(TopStatements));
    public static readonly string IndexUsage = Queries.Get(nameof(IndexUsage));
    public static readonly string TableHealth = Queries.Get(nameof(TableHealth));
    public static readonly string XminHorizon = Queries.Get(nameof(XminHorizon));
    public static readonly string LongTransactions = Queries.Get(nameof(LongTransactions));
    public static readonly string Connections = Queries.Get(nameof(Connections));
    public static readonly string OldestWaitingJobSeconds = Queries.Get(nameof(OldestWaitingJobSeconds));
}
