using Api.Sql;
using JobEngine.Tests;
using Npgsql;
using NpgsqlTypes;

namespace Api.Tests;

/// <summary>The realistic table of the engine's plan tests, plus rows spread over 20 queues and kinds and some discarded jobs, so each filter is selective.</summary>
public sealed class ApiPlanDatabase : IAsyncLifetime
{
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
        await Db.ExecuteAsync("ANALYZE jobs.job_history");
        await Db.ExecuteAsync("ANALYZE jobs.job_finished_minute");
    }

    public Task DisposeAsync() => _loaded.DisposeAsync();
}

/// <summary>
/// The Api's admin queries, planned on realistic tables: each uses its intended indexes and none
/// scans a job table sequentially; the /stats counts do not read the job tables at all.
/// </summary>
public sealed class ApiQueryPlanTests(ApiPlanDatabase fixture) : IClassFixture<ApiPlanDatabase>
{
    // The live table has no listing index on purpose (each claim and finish would write into it):
    // filtering its backlog by queue or kind may read the whole backlog, which the history never is.
    public static TheoryData<string, string?, string?, string?, string, bool> Listings() => new()
    {
        { "state", "discarded", null, null, "job_history_*_state_id_idx", false },
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

    private static string StatsQuery(string name) => (string)typeof(ApiSql).GetField(name)!.GetValue(null)!;

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
