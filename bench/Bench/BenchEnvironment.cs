using Npgsql;

namespace Bench;

/// <summary>
/// Why it exists: bench/run.sh sets up the stack and builds everything, then hands the driver
/// where things are through the environment; this reads it once, with a clear error for a gap.
/// </summary>
internal sealed class BenchEnvironment
{
    public required string OwnerConnection { get; init; }
    public required string AppRolePassword { get; init; }
    public required string WorkerDir { get; init; }
    public required string MigratorDir { get; init; }
    public required string PeersDir { get; init; }
    public required string ResultsDir { get; init; }
    public required string Commit { get; init; }
    public required string WorkDir { get; init; }

    public static string BenchDll => typeof(BenchEnvironment).Assembly.Location;

    public static BenchEnvironment FromEnvironment()
    {
        var results = Required("BENCH_RESULTS_DIR");
        return new()
        {
            OwnerConnection = Required("JOBS_OWNER_CONNECTION"),
            AppRolePassword = Required("Migrator__AppRolePassword"),
            WorkerDir = Required("BENCH_WORKER_DIR"),
            MigratorDir = Required("BENCH_MIGRATOR_DIR"),
            PeersDir = Required("BENCH_PEERS_DIR"),
            ResultsDir = results,
            Commit = Environment.GetEnvironmentVariable("BENCH_COMMIT") ?? "unknown",
            WorkDir = Directory.CreateDirectory(Path.Combine(results, "tmp")).FullName,
        };
    }

    public static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set; run the benchmark through bench/run.sh, which sets it.");

    /// <summary>The owner's connection string to database <paramref name="database"/>.</summary>
    public string Owner(string database) =>
        new NpgsqlConnectionStringBuilder(OwnerConnection) { Database = database }.ConnectionString;

    /// <summary>The services' least-privileged role on database <paramref name="database"/>, as our Worker connects.</summary>
    public string App(string database) =>
        new NpgsqlConnectionStringBuilder(OwnerConnection) { Database = database, Username = "jobs_app", Password = AppRolePassword }.ConnectionString;

    /// <summary>The owner's connection as the postgres:// URL the Node.js peers take.</summary>
    public string OwnerUrl(string database)
    {
        var b = new NpgsqlConnectionStringBuilder(OwnerConnection);
        return $"postgres://{Uri.EscapeDataString(b.Username!)}:{Uri.EscapeDataString(b.Password!)}@{b.Host}:{b.Port}/{Uri.EscapeDataString(database)}";
    }
}
