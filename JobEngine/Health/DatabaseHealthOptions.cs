namespace JobEngine.Health;

/// <summary>The thresholds that turn a database health figure red, bound from <c>Jobs:Health</c>.</summary>
public sealed class DatabaseHealthOptions
{
    /// <summary>A runnable job waiting longer than this means the workers do not keep up.</summary>
    public TimeSpan MaxWaitingJobAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A snapshot older than this keeps vacuum from cleaning the job table: it bloats.</summary>
    public TimeSpan MaxXminHorizonAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Transactions open longer than this are listed as long-running.</summary>
    public TimeSpan LongTransactionAge { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Dead tuples above this share of a table's tuples mean vacuum is falling behind.</summary>
    public double MaxDeadTupleRatio { get; set; } = 0.2;
}
