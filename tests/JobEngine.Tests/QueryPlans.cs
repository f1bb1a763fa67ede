using System.Text.Json;
using Npgsql;

namespace JobEngine.Tests;

/// <summary>Plans a statement with <c>EXPLAIN (FORMAT JSON)</c> and lists how it reads <c>jobs.job</c>.</summary>
public static class QueryPlans
{
    /// <summary>Every plan node that reads the job table: its node type and index, if any.</summary>
    public static async Task<IReadOnlyList<(string? Type, string? Index)>> JobTableScansAsync(TestDatabase db, string sql, IEnumerable<NpgsqlParameter> parameters)
    {
        await using var command = db.Owner.CreateCommand("EXPLAIN (FORMAT JSON) " + sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter);
        }

        using var plan = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
        return [.. Nodes(plan.RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Relation Name", out var r) && r.GetString() == "job")
            .Select(n => (n.GetProperty("Node Type").GetString(), n.TryGetProperty("Index Name", out var i) ? i.GetString() : null))];
    }

    /// <summary>Runs <paramref name="sql"/> under <c>EXPLAIN ANALYZE</c>: how many rows its scans of the job table returned, over all their loops.</summary>
    public static async Task<long> JobRowsReadAsync(TestDatabase db, string sql)
    {
        await using var command = db.Owner.CreateCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + sql);
        using var plan = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
        return Nodes(plan.RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Relation Name", out var r) && r.GetString() == "job")
            .Sum(n => (long)n.GetProperty("Actual Rows").GetDouble() * (long)n.GetProperty("Actual Loops").GetDouble());
    }

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray().SelectMany(Nodes))
            {
                yield return child;
            }
        }
    }
}

/// <summary>A test database with 200,000 finalized, 10,000 runnable and 50 running jobs, analyzed: a realistic table to plan on.</summary>
public sealed class LoadedJobsDatabase : IAsyncLifetime
{
    public TestDatabase Db { get; } = new();

    public async Task InitializeAsync()
    {
        await Db.InitializeAsync();
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, created_at, attempted_at, finalized_at, attempt)
            SELECT 'completed', 'default', 'noop', '{}', 5, 25, now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
                   now() - interval '2 days' + i * interval '1 millisecond', 1
            FROM generate_series(1, 200000) AS i
            """);
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, idempotency_key)
            SELECT CASE WHEN i % 10 = 0 THEN 'scheduled'::jobs.job_state ELSE 'available' END, 'default', 'noop', '{}', i % 10, 25,
                   now() + CASE WHEN i % 10 = 0 THEN interval '1 hour' ELSE interval '0' END, 'key-' || i
            FROM generate_series(1, 10000) AS i
            """);
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, attempted_at, lease_expires_at, attempt)
            SELECT 'running', 'default', 'noop', '{}', 5, 25, now(), now(), now() + interval '30 seconds', 1 FROM generate_series(1, 50)
            """);
        await Db.ExecuteAsync("INSERT INTO jobs.queue_limit (queue, max_running) VALUES ('default', 100)");
        await Db.ExecuteAsync("VACUUM ANALYZE jobs.job");
    }

    public Task DisposeAsync() => Db.DisposeAsync();
}
