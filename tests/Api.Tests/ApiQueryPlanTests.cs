using Api.Sql;
using JobEngine.Tests;
using Npgsql;
using NpgsqlTypes;

namespace Api.Tests;

/// <summary>The realistic table of the engine's plan tests, plus rows spread over 20 queues and kinds and some discarded jobs, so each filter is selective.</summary>
public sealed class ApiPlanDatabase : IAsyncLifetime
{
    public const int Workflows = 100_000;

    private readonly LoadedJobsDatabase _loaded = new();

    public TestDatabase Db => _loaded.Db;

    public async Task InitializeAsync()
    {
        await _loaded.InitializeAsync();
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, max_attempts, run_at, attempted_at, finalized_at, attempt, created_at, errors)
            SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')), CASE WHEN i % 50 = 0 THEN 'discarded'::jobs.job_state ELSE 'completed' END,
                   'q' || (i % 20), 'k' || (i % 20), '{}', 5, 1, t, t, t, 1, t, '[]'
            FROM (SELECT i, greatest(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() - interval '30 minutes') + i * interval '10 microseconds' AS t
                  FROM generate_series(1, 20000) AS i) AS s
            """);
        // As the engine would have counted them: the per-queue latency probes the queues listed here.
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job_finished_minute (minute, queue, shard, completed, discarded, cancelled)
            SELECT date_trunc('minute', finalized_at), queue, 0, count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'discarded'), 0
            FROM jobs.job_history
            GROUP BY 1, 2
            """);
        // 100,000 workflows of 3 steps (30 names), the newest 1,000 still waiting on their last two steps.
        await Db.ExecuteAsync("""
            WITH w AS (
                INSERT INTO jobs.workflow (name, step_count, created_by)
                SELECT 'w' || (i % 30), 3, 'producer' FROM generate_series(1, $1) AS i
                RETURNING id)
            INSERT INTO jobs.workflow_step (job_id, workflow_id, ordinal, step, on_dependency_failure)
            SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')), w.id, o, 's' || o, 'cancel'
            FROM w, generate_series(1, 3) AS o
            """, Workflows);
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job_pending (id, queue, kind, args, priority, max_attempts, waiting_on, on_dependency_failure)
            SELECT s.job_id, 'default', 'noop', '{}', 5, 1, 1, 'cancel'
            FROM jobs.workflow_step AS s
            WHERE s.workflow_id > (SELECT max(id) - 1000 FROM jobs.workflow) AND s.ordinal > 1
            """);
        await Db.ExecuteAsync("ANALYZE jobs.workflow, jobs.workflow_step, jobs.job_pending");
        await Db.ExecuteAsync("ANALYZE jobs.job_history");
        await Db.ExecuteAsync("ANALYZE jobs.job_finished_minute");
    }

    public Task DisposeAsync() => _loaded.DisposeAsync();
}

/// <summary>
/// The Api's admin queries, planned on realistic tables: each uses its intended indexes and none
/// scans a job table sequentially; the /stats counts do not read the job tables at all.
/// </summary>
public sealed class ApiQueryPlanTests(ApiPlanDatabase fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ApiPlanDatabase>
{
    // The live table has no listing index on purpose (each claim and finish would write into it):
    // filtering its backlog by queue or kind may read the whole backlog, which the history never is.
    // The history's (state, id) index holds only the jobs that did not complete (migration 26):
    // completed ones, most of the history, are listed from the id index.
    public static TheoryData<string, string?, string?, string?, string, bool> Listings() => new()
    {
        { "state", "discarded", null, null, "job_history_*_state_id_idx", false },
        { "completed", "completed", null, null, "job_history_*_id_idx", false },
        { "live state", "available", null, null, "job_pkey", false },
        { "queue", null, "q7", null, "job_history_*_queue_id_idx", true },
        { "kind", null, null, "k7", "job_history_*_kind_id_idx", true },
        { "none", null, null, null, "job_pkey,job_history_*_id_idx", false },
    };

    [Theory]
    [MemberData(nameof(Listings))]
    public async Task The_first_page_of_the_job_listing_reads_the_filters_index(string filter, string? state, string? queue, string? kind, string index, bool liveTableScanned)
    {
        var scans = await QueryPlans.JobTableScansAsync(fixture.Db, ApiSql.ListJobs,
            [Text(state), Text(queue), Text(kind), new() { Value = long.MaxValue }, new() { Value = 50 }]);

        Assert.True(QueryPlans.UsesOnly(scans, index, liveTableScanned), $"filter {filter}: {string.Join(", ", scans)}");
    }

    // A bulk batch walks an index downwards from the cursor, a batch of ids at a time, and finds
    // each row it moves by index: never a sequential scan of the history, however big. A retry
    // always filters on the few finished states (discarded, cancelled; most of the history is
    // completed), so (state, id) is its walk whatever else it filters on.
    public static TheoryData<string, string?, string?, string?, string, bool> BulkBatches() => new()
    {
        { nameof(ApiSql.RetryJobsBatch), "discarded", null, null, "job_history_*_state_id_idx", false },
        { nameof(ApiSql.RetryJobsBatch), null, "q7", null, "job_history_*_state_id_idx", false },
        { nameof(ApiSql.RetryJobsBatch), null, null, "k7", "job_history_*_state_id_idx", false },
        { nameof(ApiSql.CancelJobsBatch), null, "default", null, "job_pkey", true },
    };

    [Theory]
    [MemberData(nameof(BulkBatches))]
    public async Task A_bulk_batch_reads_the_filters_index(string query, string? state, string? queue, string? kind, string index, bool liveTableScanned)
    {
        var scans = await QueryPlans.JobTableScansAsync(fixture.Db, StatsQuery(query),
            [Text(state), Text(queue), Text(kind), new() { Value = long.MaxValue }, new() { Value = Api.Jobs.JobBulkActions.BatchSize }]);

        Assert.True(QueryPlans.UsesOnly(scans, index, liveTableScanned), $"{query} {state}/{queue}/{kind}: {string.Join(", ", scans)}");
    }

    [Theory]
    [InlineData(nameof(ApiSql.CountByQueueAndState))]
    [InlineData(nameof(ApiSql.FinishedPerMinute))]
    public async Task A_stats_count_reads_the_count_tables_not_the_job_table(string query)
    {
        Assert.Empty(await QueryPlans.JobTableScansAsync(fixture.Db, StatsQuery(query), []));
    }

    [Theory]
    [InlineData(nameof(ApiSql.QueueLatency), "job_history_*_id_idx")]
    [InlineData(nameof(ApiSql.QueueLatencyByQueue), "job_history_*_queue_id_idx")]
    public async Task A_stats_query_reads_its_index(string query, string index)
    {
        var scans = await QueryPlans.JobTableScansAsync(fixture.Db, StatsQuery(query), []);

        Assert.True(QueryPlans.UsesOnly(scans, index), string.Join(", ", scans));
    }

    // GET /workflows: a page of 100,000 workflows, by name or not, reads its index backwards and each
    // listed workflow's steps by index: never a sequential scan, whatever the number of workflows.
    [Theory]
    [InlineData(null, "workflow_pkey,workflow_step_ordinal_idx,job_pending_pkey,job_pkey")]
    [InlineData("w7", "workflow_name_id_idx,workflow_step_ordinal_idx,job_pending_pkey,job_pkey")]
    public async Task The_first_page_of_the_workflow_listing_reads_indexes_only(string? name, string indexes)
    {
        NpgsqlParameter[] Parameters() => [Text(name), new() { Value = long.MaxValue }, new() { Value = 21 }];
        var scans = await QueryPlans.JobTableScansAsync(fixture.Db, ApiSql.ListWorkflows, Parameters(), "workflow", "workflow_step", "job_pending");

        Assert.True(QueryPlans.UsesOnly(scans, indexes), $"name {name}: {string.Join(", ", scans)}");
        await using var command = fixture.Db.Owner.CreateCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + ApiSql.ListWorkflows);
        command.Parameters.AddRange(Parameters());
        using var plan = System.Text.Json.JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
        output.WriteLine($"name {name ?? "(none)"}: {plan.RootElement[0].GetProperty("Execution Time").GetDouble()} ms on {ApiPlanDatabase.Workflows} workflows");
    }

    private static string StatsQuery(string name) => (string)typeof(ApiSql).GetField(name)!.GetValue(null)!;

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
