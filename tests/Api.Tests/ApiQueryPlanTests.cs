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
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, attempted_at, finalized_at, attempt)
            SELECT CASE WHEN i % 50 = 0 THEN 'discarded'::jobs.job_state ELSE 'completed' END, 'q' || (i % 20), 'k' || (i % 20), '{}', 5, 1,
                   now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '30 minutes' + i * interval '1 millisecond', 1
            FROM generate_series(1, 20000) AS i
            """);
        await Db.ExecuteAsync("VACUUM ANALYZE jobs.job");
    }

    public Task DisposeAsync() => _loaded.DisposeAsync();
}

/// <summary>
/// The Api's admin queries, planned on a realistic table: each uses its intended index and none
/// scans jobs.job sequentially; the /stats counts do not read jobs.job at all.
/// </summary>
public sealed class ApiQueryPlanTests(ApiPlanDatabase fixture) : IClassFixture<ApiPlanDatabase>
{
    public static TheoryData<string, string?, string?, string?, string> Listings() => new()
    {
        { "state", "discarded", null, null, "job_state_id_idx" },
        { "queue", null, "q7", null, "job_queue_id_idx" },
        { "kind", null, null, "k7", "job_kind_id_idx" },
        { "none", null, null, null, "job_pkey" },
    };

    [Theory]
    [MemberData(nameof(Listings))]
    public async Task The_first_page_of_the_job_listing_reads_the_filters_index(string filter, string? state, string? queue, string? kind, string index)
    {
        var scans = await QueryPlans.JobTableScansAsync(fixture.Db, ApiSql.ListJobs,
            [Text(state), Text(queue), Text(kind), new() { Value = long.MaxValue }, new() { Value = 50 }]);

        Assert.DoesNotContain(scans, s => s.Type == "Seq Scan");
        Assert.True(scans.Any(s => s.Index == index), $"filter {filter}: {string.Join(", ", scans)}");
    }

    [Theory]
    [InlineData(nameof(ApiSql.CountByQueueAndState))]
    [InlineData(nameof(ApiSql.FinishedPerMinute))]
    public async Task A_stats_count_reads_the_count_tables_not_the_job_table(string query)
    {
        Assert.Empty(await QueryPlans.JobTableScansAsync(fixture.Db, StatsQuery(query), []));
    }

    [Theory]
    [InlineData(nameof(ApiSql.QueueLatency), "job_finalized_at_idx")]
    public async Task A_stats_query_reads_its_index(string query, string index)
    {
        var scans = await QueryPlans.JobTableScansAsync(fixture.Db, StatsQuery(query), []);

        Assert.DoesNotContain(scans, s => s.Type == "Seq Scan");
        Assert.True(scans.Any(s => s.Index == index), string.Join(", ", scans));
    }

    private static string StatsQuery(string name) => (string)typeof(ApiSql).GetField(name)!.GetValue(null)!;

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
