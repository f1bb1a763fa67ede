using System.Text.Json;
using JobEngine.Sql;
using NpgsqlTypes;

namespace JobEngine.Tests;

/// <summary>
/// Every hot statement of the engine, planned on a realistic table (200,000 finalized and 10,000
/// runnable jobs, analyzed), must use its intended index and never scan jobs.job sequentially:
/// a schema or query change that loses its index fails the build.
/// </summary>
public sealed class QueryPlanTests : IClassFixture<QueryPlanTests.LoadedDatabase>
{
    private readonly TestDatabase _db;

    public QueryPlanTests(LoadedDatabase loaded) => _db = loaded.Db;

    public static TheoryData<string, string> Statements() => new()
    {
        { nameof(JobSql.ClaimJobs), "job_runnable_idx" },
        { nameof(JobSql.ClaimJobsWithinLimits), "job_runnable_idx" },
        { nameof(JobSql.MillisecondsUntilNextScheduledJob), "job_scheduled_run_at_idx" },
        { nameof(JobSql.FinishJobs), "job_running_idx" },
        { nameof(JobSql.ReleaseJobs), "job_running_idx" },
        { nameof(JobSql.ExtendLeases), "job_running_idx" },
        { nameof(JobSql.RescueExpiredJobs), "job_running_idx" },
        { nameof(JobSql.PruneFinalizedJobs), "job_finalized_at_idx" },
        { nameof(JobSql.SelectJobById), "job_pkey" },
        { nameof(JobSql.SelectLiveJobsByIdempotencyKey), "job_live_idempotency_key_idx" },
        { nameof(JobSql.CancelJob), "job_pkey" },
        { nameof(JobSql.RetryJob), "job_pkey" },
    };

    [Theory]
    [MemberData(nameof(Statements))]
    public async Task A_hot_statement_uses_its_index_and_never_scans_the_job_table(string statement, string index)
    {
        var sql = (string)typeof(JobSql).GetField(statement)!.GetValue(null)!;
        await using var command = _db.Owner.CreateCommand("EXPLAIN (FORMAT JSON) " + sql);
        foreach (var parameter in ParametersOf(statement))
        {
            command.Parameters.Add(parameter);
        }

        var plan = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
        var jobScans = Nodes(plan.RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Relation Name", out var r) && r.GetString() == "job")
            .Select(n => (Type: n.GetProperty("Node Type").GetString(), Index: n.TryGetProperty("Index Name", out var i) ? i.GetString() : null))
            .ToList();

        Assert.DoesNotContain(jobScans, s => s.Type == "Seq Scan");
        Assert.Contains(jobScans, s => s.Index == index);
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

    private static Npgsql.NpgsqlParameter[] ParametersOf(string statement)
    {
        long[] ids = [.. Enumerable.Range(1, 100).Select(i => (long)i * 7)];
        short[] attempts = [.. ids.Select(_ => (short)1)];
        return statement switch
        {
            nameof(JobSql.ClaimJobs) or nameof(JobSql.ClaimJobsWithinLimits) => [new() { Value = "default" }, new() { Value = 100 }, new() { Value = "w" }, new() { Value = 30000.0 }],
            nameof(JobSql.MillisecondsUntilNextScheduledJob) => [new() { Value = new[] { "default" } }],
            nameof(JobSql.FinishJobs) =>
            [
                new() { Value = ids }, new() { Value = attempts }, new() { Value = ids.Select(_ => "completed").ToArray() },
                new() { Value = ids.Select(_ => 0L).ToArray() }, new() { Value = ids.Select(_ => (string?)null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb },
            ],
            nameof(JobSql.ReleaseJobs) => [new() { Value = ids }, new() { Value = attempts }],
            nameof(JobSql.ExtendLeases) => [new() { Value = ids }, new() { Value = attempts }, new() { Value = 30000.0 }],
            nameof(JobSql.RescueExpiredJobs) => [new() { Value = 1000 }],
            nameof(JobSql.PruneFinalizedJobs) => [new() { Value = 86400.0 }, new() { Value = 1000 }],
            nameof(JobSql.SelectLiveJobsByIdempotencyKey) => [new() { Value = new[] { "k1", "k2" } }],
            _ => [new() { Value = 12345L }],
        };
    }

    /// <summary>The test database, loaded once for every plan.</summary>
    public sealed class LoadedDatabase : IAsyncLifetime
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
}
