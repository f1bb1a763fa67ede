using JobEngine.Sql;
using NpgsqlTypes;

namespace JobEngine.Tests;

/// <summary>
/// Every hot statement of the engine, planned on realistic tables (200,000 finalized jobs in the
/// history, 10,000 runnable in jobs.job, analyzed), must use its intended indexes and never scan a
/// job table sequentially: a schema or query change that loses its index fails the build.
/// </summary>
public sealed class QueryPlanTests : IClassFixture<LoadedJobsDatabase>
{
    private readonly TestDatabase _db;

    public QueryPlanTests(LoadedJobsDatabase loaded) => _db = loaded.Db;

    public static TheoryData<string, string> Statements() => new()
    {
        { nameof(JobSql.ClaimJobs), "job_claim_idx" },
        { nameof(JobSql.MillisecondsUntilNextScheduledJob), "job_claim_idx" },
        { nameof(JobSql.ScheduleRetries), "job_pkey" },
        { nameof(JobSql.FinishJobs), "job_pkey" },
        { nameof(JobSql.ReleaseJobs), "job_pkey" },
        { nameof(JobSql.ExtendLeases), "job_pkey" },
        { nameof(JobSql.RescueExpiredJobs), "job_pkey" },
        { nameof(JobSql.SelectJobById), "job_pkey,job_history_*_id_idx" },
        { nameof(JobSql.SelectLiveJobsByIdempotencyKey), "job_idempotency_key_idx" },
        { nameof(JobSql.CancelJob), "job_pkey,job_history_*_id_idx" },
        { nameof(JobSql.RetryJob), "job_pkey,job_history_*_id_idx" },
    };

    // No index holds running jobs (a claim writes none, migration 12), so the rescue sweep reads the
    // live table; it runs only when a worker stopped heartbeating and on a slow backstop (JobRescuer).
    private static readonly HashSet<string> ReadsTheLiveTable = [nameof(JobSql.RescueExpiredJobs)];

    [Theory]
    [MemberData(nameof(Statements))]
    public async Task A_hot_statement_uses_its_index_and_never_scans_the_job_table(string statement, string index)
    {
        var sql = SqlOf(statement);
        var jobScans = await QueryPlans.JobTableScansAsync(_db, sql, ParametersOf(statement));

        Assert.True(QueryPlans.UsesOnly(jobScans, index, ReadsTheLiveTable.Contains(statement)), $"{statement}: {string.Join(", ", jobScans)}");
    }

    // A claim's round trip keeps one plan per connection (ConfigureClaimTransaction): the plan
    // is made with whatever the statistics said then, so it must be the intended plan on the loaded
    // tables and on each table StaleStatisticsAsync builds. Each statement: its round trip's settings, its
    // parameter types, arguments (SQL literals) and the index its plan must use.
    private static readonly Dictionary<string, (string Settings, string Types, string Arguments, string Index)> KeptPlans = new()
    {
        [nameof(JobSql.ClaimJobs)] = (JobSql.ConfigureClaimTransaction, "text, integer, text, double precision", "'default', 100, 'w', 30000", "job_claim_idx"),
        [nameof(JobSql.MillisecondsUntilNextScheduledJob)] = (JobSql.ConfigureClaimTransaction, "text[]", "'{default}'", "job_claim_idx"),
    };

    private const string Loaded = "loaded";
    private const string AnalyzedWhileEmpty = "analyzed while empty, filled since";
    private const string AnalyzedWhileFull = "analyzed while full, vacuumed while empty, filled since";

    public static TheoryData<string, string> KeptPlanStatements()
    {
        var data = new TheoryData<string, string>();
        foreach (var statement in KeptPlans.Keys)
        {
            data.Add(statement, Loaded);
            data.Add(statement, AnalyzedWhileEmpty);
            data.Add(statement, AnalyzedWhileFull);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KeptPlanStatements))]
    public async Task A_kept_plan_uses_its_index_whatever_the_statistics_said(string statement, string table)
    {
        if (table == Loaded)
        {
            await AssertKeptPlanAsync(_db, statement);
            return;
        }

        var fresh = await StaleStatisticsAsync(table);
        try
        {
            await AssertKeptPlanAsync(fresh, statement);
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    private static async Task AssertKeptPlanAsync(TestDatabase db, string statement)
    {
        await using var connection = await db.Owner.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var sql = SqlOf(statement);
        var (settings, types, arguments, index) = KeptPlans[statement];
        var scans = await QueryPlans.PreparedPlanScansAsync(connection, settings, sql, types, arguments);
        await transaction.RollbackAsync();

        Assert.True(QueryPlans.UsesOnly(scans, index), $"{statement}: {string.Join(", ", scans)}");
        // Besides its index, a statement only writes the rows it found there (a claim updates the
        // rows it chose where they are, by a TID scan; a finish moves its rows into the history).
        Assert.All(scans, s => Assert.True(s.Index == index || s.Type == "ModifyTable" || (statement == nameof(JobSql.ClaimJobs) && s.Type == "Tid Scan"), $"{statement}: {s}"));
    }

    /// <summary>
    /// A fresh database whose jobs.job has 10,000 jobs (half running) that its statistics never saw:
    /// analyzed while empty, or analyzed while full and vacuumed while empty (no row lives on its
    /// pages, say the statistics, and each column holds one value in the order of every index).
    /// </summary>
    private static async Task<TestDatabase> StaleStatisticsAsync(string table)
    {
        var fresh = new TestDatabase();
        await fresh.InitializeAsync();
        if (table == AnalyzedWhileFull)
        {
            await fresh.ExecuteAsync(Fill(20_000, "'available'"));
            await fresh.ExecuteAsync("ANALYZE jobs.job");
            await fresh.ExecuteAsync("DELETE FROM jobs.job");
        }

        await fresh.ExecuteAsync("VACUUM (TRUNCATE false, ANALYZE) jobs.job");
        await fresh.ExecuteAsync(Fill(10_000, "CASE WHEN i % 2 = 0 THEN 'running' ELSE 'available' END"));
        return fresh;

        static string Fill(int jobs, string state) => $$"""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at)
            SELECT ({{state}})::jobs.job_state, 'default', 'noop', '{}', i % 10, 25, now() FROM generate_series(1, {{jobs}}) AS i
            """;
    }

    // The Worker's writes to a list of ids are planned with their values at every write, under
    // DisableNestedLoopsForThisTransaction: a plan that guessed the list's length read the ids from
    // job_claim_idx, whose last column is id, on a table analyzed while full, vacuumed while empty and
    // filled since, and PostgreSQL 15 walks that index once per id (150 ms for a finish of 1,000 jobs,
    // seconds of stall at 10,000 jobs/s). Each write planned as the Worker sends it, on that table, for
    // 2 and for 1,000 of its running jobs: its parameter types and further arguments (SQL; $n stands
    // for the list's length).
    private static readonly Dictionary<string, (string Types, string Arguments)> IdListWrites = new()
    {
        [nameof(JobSql.ScheduleRetries)] = ("bigint[], smallint[], bigint[], jsonb[]", "array_fill(1000::bigint, ARRAY[$n]), array_fill(NULL::jsonb, ARRAY[$n])"),
        [nameof(JobSql.FinishJobs)] = ("bigint[], smallint[], text[], bigint[], jsonb[], boolean", "array_fill('completed'::text, ARRAY[$n]), array_fill(0::bigint, ARRAY[$n]), array_fill(NULL::jsonb, ARRAY[$n]), true"),
        [nameof(JobSql.ReleaseJobs)] = ("bigint[], smallint[]", ""),
        [nameof(JobSql.ExtendLeases)] = ("bigint[], smallint[], double precision", "30000"),
    };

    [Fact]
    public async Task An_id_list_write_never_walks_the_claim_index_whatever_the_statistics_said()
    {
        var fresh = await StaleStatisticsAsync(AnalyzedWhileFull);
        try
        {
            // Connected as the Worker is (its role, prepared statements, plans made with their values).
            var asWorker = new Npgsql.NpgsqlConnectionStringBuilder(fresh.AppConnectionString);
            JobEngine.JobsConnectionSettings.ApplyTo(asWorker);
            await using var worker = Npgsql.NpgsqlDataSource.Create(asWorker.ConnectionString);
            var plans = new List<string>();
            foreach (var (statement, (types, arguments)) in IdListWrites)
            {
                foreach (var length in new[] { 2, 1000 })
                {
                    await using var connection = await worker.OpenConnectionAsync();
                    await using var transaction = await connection.BeginTransactionAsync();
                    await using var running = new Npgsql.NpgsqlCommand($"SELECT array_agg(id)::text FROM (SELECT id FROM jobs.job WHERE state = 'running' LIMIT {length}) AS r", connection, transaction);
                    var ids = $"'{await running.ExecuteScalarAsync()}', array_fill(0::smallint, ARRAY[{length}])";
                    var rest = arguments.Replace("$n", length.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
                    var scans = await QueryPlans.PreparedPlanScansAsync(
                        connection, JobSql.DisableNestedLoopsForThisTransaction, SqlOf(statement), types, rest.Length == 0 ? ids : $"{ids}, {rest}");
                    plans.Add($"{statement} of {length}: {string.Join(", ", scans)}");
                }
            }

            Assert.All(plans, plan => Assert.DoesNotContain("job_claim_idx", plan, StringComparison.Ordinal));
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_oldest_waiting_job_is_found_reading_a_row_per_queue_and_priority_not_the_backlog()
    {
        var sql = HealthSql.OldestWaitingJobSeconds;
        var scans = await QueryPlans.JobTableScansAsync(_db, sql, []);
        var rows = await QueryPlans.JobRowsReadAsync(_db, sql);

        Assert.DoesNotContain(scans, s => s.Type == "Seq Scan");
        Assert.All(scans, s => Assert.Equal("job_claim_idx", s.Index));
        // 10,000 runnable jobs in 10 (queue, priority) pairs: a few rows per pair, never the backlog.
        Assert.True(rows <= 50, $"read {rows} rows of jobs.job to find the oldest waiting job");
    }

    // Ordinary jobs pay nothing for workflows (migration 15) and batches (migration 17): a finish of
    // jobs nobody depends on aggregates no row into the call of jobs.resolve_dependents, so it never
    // runs and no workflow or batch table is read. Run for real (EXPLAIN ANALYZE) on the 50 running jobs, rolled back; then once
    // more with one job flagged, which must call it: the control that the probe sees a call.
    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 1)]
    public async Task Finishing_jobs_nobody_depends_on_never_resolves_dependents(bool flagOne, long calls)
    {
        await using var connection = await _db.Owner.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var ids = await ScalarAsync<long[]>(connection, "SELECT array_agg(id ORDER BY id) FROM jobs.job WHERE state = 'running'");
        if (flagOne)
        {
            await ScalarAsync<object>(connection, $"UPDATE jobs.job SET has_dependents = true WHERE id = {ids[0]}");
        }

        await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + JobSql.FinishJobs, connection, transaction);
        explain.Parameters.Add(new() { Value = ids });
        explain.Parameters.Add(new() { Value = ids.Select(_ => (short)1).ToArray() });
        explain.Parameters.Add(new() { Value = ids.Select(_ => "completed").ToArray() });
        explain.Parameters.Add(new() { Value = ids.Select(_ => 0L).ToArray() });
        explain.Parameters.Add(new() { Value = ids.Select(_ => (string?)null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        explain.Parameters.Add(new() { Value = true });
        using var plan = System.Text.Json.JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
        await transaction.RollbackAsync();

        var nodes = Nodes(plan.RootElement[0].GetProperty("Plan")).ToList();
        var resolved = nodes.Single(n => n.TryGetProperty("Subplan Name", out var name) && name.GetString() == "CTE resolved");
        Assert.Equal(calls, (long)resolved.GetProperty("Actual Rows").GetDouble());
        Assert.DoesNotContain(nodes, n => n.TryGetProperty("Relation Name", out var r) && r.GetString() is "job_dependency" or "job_pending" or "workflow_step" or "batch");
        Assert.Equal(50L, (long)nodes.Single(n => n.TryGetProperty("Subplan Name", out var name) && name.GetString() == "CTE finished").GetProperty("Actual Rows").GetDouble());

        static async Task<T> ScalarAsync<T>(Npgsql.NpgsqlConnection connection, string sql)
        {
            await using var command = new Npgsql.NpgsqlCommand(sql, connection);
            return (T)(await command.ExecuteScalarAsync())!;
        }
    }

    // jobs.resolve_dependents plans its statements with their values on whatever statistics
    // jobs.job_dependency has. Analyzed while every job had one dependent, then given a fan-out, the
    // statement counting a finished root's dependents off once joined its counted rows to their counts
    // by a nested loop of one CTE over the other: 10,000 dependents, 100,000,000 comparisons, a Worker's
    // outcome write of 12 s (migration 22). The function's statement is read from the database and
    // planned as the function plans it (its values, its settings), for a root with 2,000 dependents;
    // no join may throw away more rows than there are dependents.
    [Fact]
    public async Task Counting_off_a_fan_out_never_compares_every_dependent_with_every_other_whatever_the_statistics_said()
    {
        const int width = 2000;
        var fresh = new TestDatabase();
        await fresh.InitializeAsync();
        try
        {
            var client = new JobClient(fresh.App);
            await client.EnqueueWorkflowAsync(new NewWorkflow([.. Enumerable.Range(0, 50).Select(i =>
                new NewWorkflowStep($"s{i}", new NewJob("noop")) { DependsOn = i == 0 ? [] : [$"s{i - 1}"] })]));
            await fresh.ExecuteAsync("ALTER TABLE jobs.job_dependency SET (autovacuum_enabled = false)");
            await fresh.ExecuteAsync("ANALYZE jobs.job_dependency");
            var parallel = Enumerable.Range(0, width).Select(i => $"f{i}").ToList();
            var fanOut = await client.EnqueueWorkflowAsync(new NewWorkflow(
            [
                new NewWorkflowStep("root", new NewJob("noop")),
                .. parallel.Select(name => new NewWorkflowStep(name, new NewJob("noop")) { DependsOn = ["root"] }),
                new NewWorkflowStep("fan-in", new NewJob("noop")) { DependsOn = parallel },
            ]));
            var root = fanOut.Steps.Single(s => s.Name == "root").JobId;

            var function = await fresh.ScalarAsync<string>("SELECT pg_get_functiondef('jobs.resolve_dependents'::regproc)");
            var start = function.IndexOf("WITH hits AS (", StringComparison.Ordinal);
            var end = function.IndexOf("FROM counted AS c;", start, StringComparison.Ordinal);
            Assert.True(start >= 0 && end > start, "jobs.resolve_dependents has no statement counting dependents off");
            var counting = function[start..end].Replace("INTO touched", "", StringComparison.Ordinal).Replace("unnest(ids, states)", $"unnest('{{{root}}}'::bigint[], '{{completed}}'::jobs.job_state[])", StringComparison.Ordinal)
                + "FROM counted AS c";

            await using var connection = await fresh.Owner.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var settings = new Npgsql.NpgsqlCommand("SET LOCAL plan_cache_mode = force_custom_plan", connection, transaction))
            {
                await settings.ExecuteNonQueryAsync();
            }

            await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + counting, connection, transaction);
            using var plan = System.Text.Json.JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
            await transaction.RollbackAsync();

            var nodes = Nodes(plan.RootElement[0].GetProperty("Plan")).ToList();
            Assert.Equal(width, (long)nodes.Single(n => n.TryGetProperty("Subplan Name", out var name) && name.GetString() == "CTE counted").GetProperty("Actual Rows").GetDouble());
            Assert.All(nodes, n => Assert.True(
                !n.TryGetProperty("Rows Removed by Join Filter", out var removed) || removed.GetDouble() <= width,
                $"{n.GetProperty("Node Type").GetString()} threw away {(n.TryGetProperty("Rows Removed by Join Filter", out var r) ? r.GetDouble() : 0):N0} rows by its join filter"));
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    private static IEnumerable<System.Text.Json.JsonElement> Nodes(System.Text.Json.JsonElement node) =>
        node.TryGetProperty("Plans", out var children) ? [node, .. children.EnumerateArray().SelectMany(Nodes)] : [node];

    private static string SqlOf(string statement) => (string)typeof(JobSql).GetField(statement)!.GetValue(null)!;

    private static Npgsql.NpgsqlParameter[] ParametersOf(string statement)
    {
        long[] ids = [.. Enumerable.Range(1, 100).Select(i => (long)i * 7)];
        short[] attempts = [.. ids.Select(_ => (short)1)];
        return statement switch
        {
            nameof(JobSql.ClaimJobs) => [new() { Value = "default" }, new() { Value = 100 }, new() { Value = "w" }, new() { Value = 30000.0 }],
            nameof(JobSql.MillisecondsUntilNextScheduledJob) => [new() { Value = new[] { "default" } }],
            nameof(JobSql.FinishJobs) =>
            [
                new() { Value = ids }, new() { Value = attempts }, new() { Value = ids.Select(_ => "completed").ToArray() },
                new() { Value = ids.Select(_ => 0L).ToArray() }, new() { Value = ids.Select(_ => (string?)null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb },
                new() { Value = true },
            ],
            nameof(JobSql.ScheduleRetries) =>
            [
                new() { Value = ids }, new() { Value = attempts }, new() { Value = ids.Select(_ => 1000L).ToArray() },
                new() { Value = ids.Select(_ => (string?)null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb },
            ],
            nameof(JobSql.ReleaseJobs) => [new() { Value = ids }, new() { Value = attempts }],
            nameof(JobSql.ExtendLeases) => [new() { Value = ids }, new() { Value = attempts }, new() { Value = 30000.0 }],
            nameof(JobSql.RescueExpiredJobs) => [new() { Value = 1000 }, new() { Value = new Running.RetryPolicy().DelaysByAttempt() }, new() { Value = true }],
            nameof(JobSql.SelectLiveJobsByIdempotencyKey) => [new() { Value = new[] { "k1", "k2" } }],
            _ => [new() { Value = 12345L }],
        };
    }
}
