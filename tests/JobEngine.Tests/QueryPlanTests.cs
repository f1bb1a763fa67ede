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
    // for the list's length, $lo and $hi for its lowest and highest id).
    private static readonly Dictionary<string, (string Types, string Arguments)> IdListWrites = new()
    {
        [nameof(JobSql.ScheduleRetries)] = ("bigint[], smallint[], bigint[], jsonb[]", "array_fill(1000::bigint, ARRAY[$n]), array_fill(NULL::jsonb, ARRAY[$n])"),
        [nameof(JobSql.FinishJobs)] = ("bigint[], smallint[], text[], bigint[], jsonb[], boolean, bigint, bigint", "array_fill('completed'::text, ARRAY[$n]), array_fill(0::bigint, ARRAY[$n]), array_fill(NULL::jsonb, ARRAY[$n]), true, $lo, $hi"),
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
                    await using var running = new Npgsql.NpgsqlCommand($"SELECT array_agg(id)::text, min(id)::text, max(id)::text FROM (SELECT id FROM jobs.job WHERE state = 'running' LIMIT {length}) AS r", connection, transaction);
                    await using var reader = await running.ExecuteReaderAsync();
                    await reader.ReadAsync();
                    var ids = $"'{reader.GetString(0)}', array_fill(0::smallint, ARRAY[{length}])";
                    var rest = arguments.Replace("$n", length.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                        .Replace("$lo", reader.GetString(1), StringComparison.Ordinal).Replace("$hi", reader.GetString(2), StringComparison.Ordinal);
                    await reader.CloseAsync();
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

        var nodes = await ExplainFinishAsync(connection, transaction, ids);
        await transaction.RollbackAsync();

        var resolved = nodes.Single(n => n.TryGetProperty("Subplan Name", out var name) && name.GetString() == "CTE resolved");
        Assert.Equal(calls, (long)resolved.GetProperty("Actual Rows").GetDouble());
        Assert.DoesNotContain(nodes, n => n.TryGetProperty("Relation Name", out var r) && r.GetString() is "job_dependency" or "job_pending" or "workflow_step" or "batch");
        Assert.Equal(50L, (long)nodes.Single(n => n.TryGetProperty("Subplan Name", out var name) && name.GetString() == "CTE finished").GetProperty("Actual Rows").GetDouble());
    }

    // FinishJobs finds a dense batch's rows as one range of job_pkey, and any other batch by one
    // descent of it per listed id ("= ANY" in PostgreSQL 15): for 1,000 jobs the range read 0.6 ms
    // against 1.9. Either way every listed running job is finished. Run for real on the 50 running
    // jobs (their ids are consecutive), rolled back; every third of them spans three times as many
    // ids as it lists.
    [Theory]
    [InlineData(1, false)]
    [InlineData(3, true)]
    public async Task A_finish_reads_a_dense_batch_as_one_range_of_the_primary_key_and_a_spread_one_id_by_id(int step, bool idById)
    {
        await using var connection = await _db.Owner.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var running = await ScalarAsync<long[]>(connection, "SELECT array_agg(id ORDER BY id) FROM jobs.job WHERE state = 'running'");
        long[] ids = [.. running.Where((_, i) => i % step == 0)];

        var nodes = await ExplainFinishAsync(connection, transaction, ids);
        await transaction.RollbackAsync();

        var scan = nodes.Single(n => n.TryGetProperty("Relation Name", out var r) && r.GetString() == "job" && n.GetProperty("Node Type").GetString() != "ModifyTable");
        Assert.Equal("job_pkey", scan.GetProperty("Index Name").GetString());
        Assert.Equal(idById, scan.GetProperty("Index Cond").GetString()!.Contains("ANY", StringComparison.Ordinal));
        Assert.Equal(ids.Length, (long)nodes.Single(n => n.TryGetProperty("Subplan Name", out var name) && name.GetString() == "CTE finished").GetProperty("Actual Rows").GetDouble());
    }

    // FinishJobs run for real (EXPLAIN ANALYZE) in the caller's transaction, completing the first attempt of ids: its plan's nodes.
    private static async Task<List<System.Text.Json.JsonElement>> ExplainFinishAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, long[] ids)
    {
        await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + JobSql.FinishJobs, connection, transaction);
        explain.Parameters.Add(new() { Value = ids });
        explain.Parameters.Add(new() { Value = ids.Select(_ => (short)1).ToArray() });
        explain.Parameters.Add(new() { Value = ids.Select(_ => "completed").ToArray() });
        explain.Parameters.Add(new() { Value = ids.Select(_ => 0L).ToArray() });
        explain.Parameters.Add(new() { Value = ids.Select(_ => (string?)null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        explain.Parameters.Add(new() { Value = true });
        explain.Parameters.Add(new() { Value = ids.Min() });
        explain.Parameters.Add(new() { Value = ids.Max() });
        using var plan = System.Text.Json.JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
        return [.. Nodes(plan.RootElement[0].GetProperty("Plan")).Select(n => n.Clone())];
    }

    private static async Task<T> ScalarAsync<T>(Npgsql.NpgsqlConnection connection, string sql)
    {
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    // The functions that resolve dependents plan their statements with their values, on whatever
    // statistics the workflow tables have. On statistics taken before the rows they met were added,
    // three statements below were planned as nested loops comparing every row with every other:
    // 10,000 rows made 100,000,000 comparisons, a Worker's outcome write of 6-12 s (migrations 22, 23).
    // Not yet held: counting off on a jobs.job_pending whose statistics say it is empty (the locking
    // test's tables) still compares every waiting job with every dependent counted.
    // Each is read from the database and planned as its function plans it (its values, its settings)
    // on such statistics, for 2,000 rows; no join may throw away more rows than that.
    private const int Wide = 2000;

    [Fact]
    public Task Counting_off_a_fan_out_never_compares_every_dependent_with_every_other_whatever_the_statistics_said() => InFreshDatabaseAsync(async fresh =>
    {
        // Edges analyzed while every job had one dependent.
        var client = new JobClient(fresh.App);
        await client.EnqueueWorkflowAsync(Chain(50));
        await AnalyzeOnlyNowAsync(fresh, "jobs.job_dependency");
        var root = await EnqueueFanOutAsync(client);

        var counting = await PlanFunctionStatementAsync(fresh, "jobs.resolve_dependents", "WITH hits AS (", "INTO touched FROM counted AS c", "INTO touched",
            ("unnest(ids, states)", $"unnest('{{{root}}}'::bigint[], '{{completed}}'::jobs.job_state[])"));

        Assert.Equal(Wide, ActualRows(counting, "CTE counted"));
        AssertNoJoinThrewAwayMoreThanItMet("counting them off", counting);
    });

    [Fact]
    public Task Locking_a_fan_outs_dependents_never_compares_every_waiting_job_with_every_dependent_whatever_the_statistics_said() => InFreshDatabaseAsync(async fresh =>
    {
        // As after a chain that ended: nothing waits any more on the pages its steps waited in.
        var client = new JobClient(fresh.App);
        var chain = await client.EnqueueWorkflowAsync(Chain(50));
        await client.CancelWorkflowAsync(chain.WorkflowId);
        await AnalyzeOnlyNowAsync(fresh, "jobs.job_pending");
        await AnalyzeOnlyNowAsync(fresh, "jobs.job_dependency");
        var root = await EnqueueFanOutAsync(client);

        var locking = await PlanFunctionStatementAsync(fresh, "jobs.resolve_dependents", "PERFORM 1", "FOR UPDATE", "PERFORM", ("ANY (ids)", $"ANY ('{{{root}}}'::bigint[])"), into: "SELECT");

        Assert.Equal(Wide, (long)locking[0].GetProperty("Actual Rows").GetDouble());
        AssertNoJoinThrewAwayMoreThanItMet("locking the waiting dependents", locking);
    });

    private static NewWorkflow Chain(int steps) => new([.. Enumerable.Range(0, steps).Select(i =>
        new NewWorkflowStep($"s{i}", new NewJob("noop")) { DependsOn = i == 0 ? [] : [$"s{i - 1}"] })]);

    // A root, Wide steps after it, one step after all of them; returns the root's job id.
    private static async Task<long> EnqueueFanOutAsync(JobClient client)
    {
        var parallel = Enumerable.Range(0, Wide).Select(i => $"f{i}").ToList();
        var fanOut = await client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            new NewWorkflowStep("root", new NewJob("noop")),
            .. parallel.Select(name => new NewWorkflowStep(name, new NewJob("noop")) { DependsOn = ["root"] }),
            new NewWorkflowStep("fan-in", new NewJob("noop")) { DependsOn = parallel },
        ]));
        return fanOut.Steps.Single(s => s.Name == "root").JobId;
    }

    [Fact]
    public Task Releasing_many_batch_callbacks_never_compares_every_callback_with_every_batch_whatever_the_statistics_said() => InFreshDatabaseAsync(async fresh =>
    {
        var client = new JobClient(fresh.App);
        for (var i = 0; i < Wide + 5; i++)
        {
            await client.EnqueueBatchAsync(new NewBatch(new NewJob("noop"), [new NewJob("noop")]));
            if (i == 4)
            {
                // Every callback then still waited for its job: no row with waiting_on <= 0.
                await AnalyzeOnlyNowAsync(fresh, "jobs.job_pending");
                await AnalyzeOnlyNowAsync(fresh, "jobs.batch");
            }
        }

        var callbacks = string.Join(',', await fresh.ScalarAsync<long[]>("SELECT array_agg(callback_id) FROM jobs.batch"));
        var nodes = await PlanFunctionStatementAsync(fresh, "jobs.release_pending", "WITH ready AS (", "INTO released", "INTO released",
            ("ANY (p_ids)", $"ANY ('{{{callbacks}}}'::bigint[])"),
            before: $"UPDATE jobs.job_pending SET waiting_on = 0 WHERE id = ANY ('{{{callbacks}}}'::bigint[])");

        Assert.Equal(Wide + 5, ActualRows(nodes, "CTE moved"));
        AssertNoJoinThrewAwayMoreThanItMet("releasing the callbacks", nodes);
    });

    private static async Task InFreshDatabaseAsync(Func<TestDatabase, Task> test)
    {
        var fresh = new TestDatabase();
        await fresh.InitializeAsync();
        try
        {
            await test(fresh);
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    // Statistics from this moment on, never refreshed by autovacuum during the test; emptied pages are
    // kept, as every vacuum of jobs.job_pending keeps them since migration 25 (and any vacuum that
    // cannot take its lock at once).
    private static async Task AnalyzeOnlyNowAsync(TestDatabase db, string table)
    {
        await db.ExecuteAsync($"ALTER TABLE {table} SET (autovacuum_enabled = false)");
        await db.ExecuteAsync($"VACUUM (TRUNCATE false, ANALYZE) {table}");
    }

    /// <summary>
    /// Runs under EXPLAIN ANALYZE, in a transaction rolled back after it, the statement of
    /// <paramref name="function"/> from <paramref name="start"/> to the end of <paramref name="end"/>,
    /// as read from the database: its <paramref name="drop"/> (an INTO, a PERFORM) replaced by
    /// <paramref name="into"/>, its variables replaced by SQL literals, planned with their values as the
    /// function plans it, after <paramref name="before"/>.
    /// </summary>
    private static async Task<List<System.Text.Json.JsonElement>> PlanFunctionStatementAsync(
        TestDatabase db, string function, string start, string end, string drop, (string Variable, string Literal) values, string? before = null, string into = "")
    {
        var definition = await db.ScalarAsync<string>($"SELECT pg_get_functiondef('{function}'::regproc)");
        var from = definition.IndexOf(start, StringComparison.Ordinal);
        var to = from < 0 ? -1 : definition.IndexOf(end, from, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, $"{function} has no statement from '{start}' to '{end}'");
        var statement = definition[from..(to + end.Length)].Replace(drop, into, StringComparison.Ordinal).Replace(values.Variable, values.Literal, StringComparison.Ordinal);

        await using var connection = await db.Owner.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var settings = new Npgsql.NpgsqlCommand("SET LOCAL plan_cache_mode = force_custom_plan", connection, transaction))
        {
            await settings.ExecuteNonQueryAsync();
        }

        if (before is not null)
        {
            await using var setup = new Npgsql.NpgsqlCommand(before, connection, transaction);
            await setup.ExecuteNonQueryAsync();
        }

        await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, connection, transaction);
        using var plan = System.Text.Json.JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
        await transaction.RollbackAsync();
        return [.. Nodes(plan.RootElement[0].GetProperty("Plan")).Select(n => n.Clone())];
    }

    private static long ActualRows(List<System.Text.Json.JsonElement> nodes, string subplan) =>
        (long)nodes.Single(n => n.TryGetProperty("Subplan Name", out var name) && name.GetString() == subplan).GetProperty("Actual Rows").GetDouble();

    private static void AssertNoJoinThrewAwayMoreThanItMet(string statement, List<System.Text.Json.JsonElement> nodes) =>
        Assert.All(nodes, n => Assert.True(
            !n.TryGetProperty("Rows Removed by Join Filter", out var removed) || removed.GetDouble() <= Wide + 5,
            $"{statement}: {n.GetProperty("Node Type").GetString()} threw away {(n.TryGetProperty("Rows Removed by Join Filter", out var r) ? r.GetDouble() : 0):N0} rows by its join filter"));

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
                new() { Value = true }, new() { Value = ids.Min() }, new() { Value = ids.Max() },
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
