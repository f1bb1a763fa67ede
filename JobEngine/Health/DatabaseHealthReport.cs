namespace JobEngine.Health;

/// <summary>One statement of the job schema from pg_stat_statements.</summary>
public sealed record StatementStats(string Query, long Calls, double TotalMs, double MeanMs, long Rows);

/// <summary>One index of the job schema; <see cref="NeverUsed"/> flags a non-unique index with no scan since statistics were reset.</summary>
public sealed record IndexUsage(string Index, string Table, long Scans, long SizeBytes, bool Valid, bool Unique)
{
    /// <summary>Costs every write and serves no read: a candidate to drop (check the rollback note first).</summary>
    public bool NeverUsed => Scans == 0 && !Unique;
}

/// <summary>Dead tuples and vacuum of one job table.</summary>
public sealed record TableHealth(string Table, long LiveTuples, long DeadTuples, long SizeBytes,
    DateTimeOffset? LastVacuum, DateTimeOffset? LastAutovacuum, DateTimeOffset? LastAnalyze, DateTimeOffset? LastAutoanalyze)
{
    /// <summary>Dead tuples as a share of all tuples.</summary>
    public double DeadRatio => LiveTuples + DeadTuples == 0 ? 0 : (double)DeadTuples / (LiveTuples + DeadTuples);
}

/// <summary>The session holding the oldest snapshot, which vacuum cannot clean past.</summary>
public sealed record XminHorizon(int Pid, string? ApplicationName, string? State, int AgeXids, double? TransactionAgeSeconds);

/// <summary>A transaction open longer than the threshold.</summary>
public sealed record LongTransaction(int Pid, string? ApplicationName, string? State, double AgeSeconds, string? Query);

/// <summary>Connections of one application in one state.</summary>
public sealed record ConnectionCount(string ApplicationName, string State, long Connections);

/// <summary>Everything the <c>/db/health</c> endpoint and the admin Database view show, with the thresholds that turn a row red.</summary>
public sealed record DatabaseHealthReport(
    IReadOnlyList<StatementStats> TopStatements,
    IReadOnlyList<IndexUsage> Indexes,
    IReadOnlyList<TableHealth> Tables,
    XminHorizon? XminHorizon,
    IReadOnlyList<LongTransaction> LongTransactions,
    IReadOnlyList<ConnectionCount> Connections,
    double? OldestWaitingJobSeconds,
    DatabaseHealthOptions Thresholds);
