using System.Text.Json;
using Npgsql;

namespace JobEngine.Tests;

/// <summary>Plans a statement with <c>EXPLAIN (FORMAT JSON)</c> and lists how it reads <c>jobs.job</c> and the history's partitions.</summary>
public static class QueryPlans
{
    /// <summary>
    /// Every plan node that reads a job table (live, or a history partition), or one of the
    /// <paramref name="otherTables"/> of schema jobs: its relation, node type and index, if any.
    /// </summary>
    public static async Task<IReadOnlyList<(string? Relation, string? Type, string? Index)>> JobTableScansAsync(
        TestDatabase db, string sql, IEnumerable<NpgsqlParameter> parameters, params string[] otherTables)
    {
        await using var command = db.Owner.CreateCommand("EXPLAIN (FORMAT JSON) " + sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter);
        }

        var scans = await ScansAsync(command, otherTables);
        // A history partition with no row (the coming days, the default) is scanned for nothing.
        var empty = new List<string>();
        foreach (var relation in scans.Where(s => s.Type == "Seq Scan").Select(s => s.Relation!).Distinct())
        {
            if (relation.StartsWith("job_history", StringComparison.Ordinal) && await db.ScalarAsync<bool>($"SELECT NOT EXISTS (SELECT 1 FROM jobs.{relation})"))
            {
                empty.Add(relation);
            }
        }

        return [.. scans.Where(s => !(s.Type == "Seq Scan" && empty.Contains(s.Relation!)))];
    }

    /// <summary>
    /// The plan of <paramref name="sql"/> sent as a prepared statement in a round trip: in the open
    /// transaction of <paramref name="connection"/>, the round trip's <paramref name="planSettings"/>
    /// (e.g. the engine's ConfigureClaimTransaction), then the statement prepared with
    /// <paramref name="parameterTypes"/> and explained with <paramref name="arguments"/> (SQL literals).
    /// Every plan node that reads a job table, as <see cref="JobTableScansAsync"/> lists them.
    /// </summary>
    public static async Task<IReadOnlyList<(string? Relation, string? Type, string? Index)>> PreparedPlanScansAsync(
        NpgsqlConnection connection, string planSettings, string sql, string parameterTypes, string arguments)
    {
        await using (var settings = new NpgsqlCommand(planSettings, connection))
        {
            await settings.ExecuteNonQueryAsync();
        }

        await using (var prepare = new NpgsqlCommand($"PREPARE kept_plan ({parameterTypes}) AS {sql}", connection))
        {
            await prepare.ExecuteNonQueryAsync();
        }

        // Dropped here: a connection set up as the engine's keeps its session state in the pool (No Reset On Close).
        IReadOnlyList<(string? Relation, string? Type, string? Index)> scans;
        await using (var explain = new NpgsqlCommand($"EXPLAIN (FORMAT JSON) EXECUTE kept_plan ({arguments})", connection))
        {
            scans = await ScansAsync(explain, []);
        }

        await using var deallocate = new NpgsqlCommand("DEALLOCATE kept_plan", connection);
        await deallocate.ExecuteNonQueryAsync();
        return scans;
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
    /// <summary>
    /// True when a plan reads every index of <paramref name="expected"/> (comma-separated; <c>*</c>
    /// stands for a history partition's day, e.g. <c>job_history_*_id_idx</c>) and never scans a
    /// job table sequentially (but the live table when <paramref name="liveTableScanned"/>).
    /// </summary>
    public static bool UsesOnly(IReadOnlyList<(string? Relation, string? Type, string? Index)> scans, string expected, bool liveTableScanned = false) =>
        !scans.Any(s => s.Type == "Seq Scan" && !(liveTableScanned && s.Relation == "job"))
        && expected.Split(',').All(e => scans.Any(s => s.Index is { } i && System.Text.RegularExpressions.Regex.IsMatch(i, "^" + e.Replace("*", "[0-9]{8}", StringComparison.Ordinal) + "$")));

    private static async Task<List<(string? Relation, string? Type, string? Index)>> ScansAsync(NpgsqlCommand explain, string[] otherTables)
    {
        using var plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
        return [.. Nodes(plan.RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Relation Name", out var r) && r.GetString() is { } name
                && (name == "job" || name.StartsWith("job_history", StringComparison.Ordinal) || otherTables.Contains(name)))
            .Select(n => (Relation: n.GetProperty("Relation Name").GetString(), Type: n.GetProperty("Node Type").GetString(), Index: n.TryGetProperty("Index Name", out var i) ? i.GetString() : null))];
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

/// <summary>A test database with 200,000 finalized jobs (in today's history partition), 10,000 runnable and 50 running jobs, analyzed: realistic tables to plan on.</summary>
public sealed class LoadedJobsDatabase : IAsyncLifetime
{
    public TestDatabase Db { get; } = new();

    public async Task InitializeAsync()
    {
        await Db.InitializeAsync();
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, max_attempts, run_at, created_at, attempted_at, finalized_at, attempt, errors)
            SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')), 'completed', 'default', 'noop', '{}', 5, 25, t, t, t, t, 1, '[]'
            FROM (SELECT greatest(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() - interval '1 hour') + i * interval '10 microseconds' AS t
                  FROM generate_series(1, 200000) AS i) AS s
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
        await Db.ExecuteAsync("ANALYZE jobs.job_history");
        await Db.ExecuteAsync("VACUUM ANALYZE jobs.job_history_default");
    }

    public Task DisposeAsync() => Db.DisposeAsync();
}
