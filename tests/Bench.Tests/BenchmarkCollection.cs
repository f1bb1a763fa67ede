namespace Bench.Tests;

/// <summary>
/// Why it exists: each benchmark test loads the machine's PostgreSQL and CPU for minutes; in one
/// collection they run one after the other, not on top of each other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class BenchmarkCollection
{
    public const string Name = "benchmarks";
}
