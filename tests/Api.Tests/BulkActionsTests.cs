using System.Diagnostics;
using System.Net;
using JobEngine.Tests;
using Xunit.Abstractions;

namespace Api.Tests;

/// <summary>
/// <c>POST /jobs/retry</c> and <c>POST /jobs/cancel</c> on 100,000 jobs each: exactly the jobs the
/// filter matches move (between jobs.job and jobs.job_history), every other job stays as it was,
/// the count tables stay exact, and a second call changes nothing.
/// </summary>
public sealed class BulkActionsTests(ApiFixture api, ITestOutputHelper output) : IClassFixture<ApiFixture>
{
    private const int Jobs = 100_000;

    // Every job of the seed's queues, one text per job, in id order: a digest that any change of a
    // row outside the filter alters.
    private const string Digest = """
        SELECT md5(coalesce(string_agg(j::text, '|' ORDER BY id), '')) FROM jobs.job_all AS j WHERE queue = ANY ($1) AND NOT ($2)
        """;

    private async Task<(long Count, bool DryRun)> PostAsync(string url, string body)
    {
        var response = await api.Admin.PostJsonAsync(url, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.BodyAsync();
        return (result.GetProperty("count").GetInt64(), result.GetProperty("dryRun").GetBoolean());
    }

    [Fact]
    public async Task Retry_moves_exactly_the_filtered_finished_jobs_back_and_a_second_call_moves_none()
    {
        string[] queues = ["q-retry-a", "q-retry-b"];
        await api.Db.ExecuteAsync("""
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, attempted_at, finalized_at, errors)
            SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')),
                   (ARRAY['discarded', 'discarded', 'cancelled', 'completed', 'discarded'])[i % 5 + 1]::jobs.job_state,
                   (ARRAY['q-retry-a', 'q-retry-b'])[i % 2 + 1], CASE WHEN i % 3 = 0 THEN 'fail' ELSE 'noop' END,
                   jsonb_build_object('n', i), 5, 3, 3, now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 minute',
                   now() - (i % 120) * interval '1 minute', '[{"attempt":3,"message":"boom"}]'
            FROM generate_series(1, $1) AS i
            """, Jobs);
        await api.Db.ExecuteAsync("ANALYZE jobs.job_history");
        const string Filtered = "state = 'discarded' AND queue = 'q-retry-a' AND kind = 'fail'";
        var expected = await api.Db.ScalarAsync<long>($"SELECT count(*) FROM jobs.job_history WHERE {Filtered}");
        var targets = await api.Db.ScalarAsync<long[]>($"SELECT array_agg(id ORDER BY id) FROM jobs.job_history WHERE {Filtered}");
        var others = await api.Db.ScalarAsync<string>(Digest.Replace("NOT ($2)", $"NOT (id = ANY ($2))", StringComparison.Ordinal), queues, targets);
        const string Body = """{"state":"discarded","queue":"q-retry-a","kind":"fail"}""";

        Assert.Equal((expected, true), await PostAsync("/jobs/retry", Body.Replace("}", ""","dryRun":true}""", StringComparison.Ordinal)));
        var clock = Stopwatch.StartNew();
        var (changed, dryRun) = await PostAsync("/jobs/retry", Body);
        clock.Stop();
        output.WriteLine($"POST /jobs/retry moved {changed:N0} of {Jobs:N0} finished jobs in {clock.ElapsedMilliseconds:N0} ms");

        Assert.False(dryRun);
        Assert.Equal(expected, changed);
        Assert.Equal(expected, await api.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE id = ANY ($1) AND state = 'available' AND max_attempts = 4", targets));
        Assert.Equal(0, await api.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_history WHERE id = ANY ($1)", targets));
        Assert.Equal(others, await api.Db.ScalarAsync<string>(Digest.Replace("NOT ($2)", $"NOT (id = ANY ($2))", StringComparison.Ordinal), queues, targets));
        Assert.Equal("", await api.Db.ScalarAsync<string>(JobsTable.CountMismatches));
        Assert.Equal((0, false), await PostAsync("/jobs/retry", Body));
    }

    [Fact]
    public async Task Cancel_moves_exactly_the_filtered_waiting_jobs_to_the_history_and_leaves_running_ones()
    {
        string[] queues = ["q-cancel-a", "q-cancel-b"];
        await api.Db.ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, attempted_at, lease_expires_at, attempt)
            SELECT s, (ARRAY['q-cancel-a', 'q-cancel-b'])[i % 2 + 1], 'noop', jsonb_build_object('n', i), 5, 25,
                   CASE s WHEN 'available' THEN now() ELSE now() + interval '1 hour' END,
                   CASE WHEN s IN ('running', 'retryable') THEN now() END, CASE s WHEN 'running' THEN now() + interval '1 hour' END,
                   CASE WHEN s IN ('running', 'retryable') THEN 1 ELSE 0 END
            FROM (SELECT i, (ARRAY['available', 'available', 'scheduled', 'retryable', 'running'])[i % 5 + 1]::jobs.job_state AS s
                  FROM generate_series(1, $1) AS i) AS seed
            """, Jobs);
        await api.Db.ExecuteAsync("ANALYZE jobs.job");
        const string Filtered = "queue = 'q-cancel-a' AND state <> 'running'";
        var expected = await api.Db.ScalarAsync<long>($"SELECT count(*) FROM jobs.job WHERE {Filtered}");
        var targets = await api.Db.ScalarAsync<long[]>($"SELECT array_agg(id ORDER BY id) FROM jobs.job WHERE {Filtered}");
        var others = await api.Db.ScalarAsync<string>(Digest.Replace("NOT ($2)", $"NOT (id = ANY ($2))", StringComparison.Ordinal), queues, targets);

        Assert.Equal((expected, true), await PostAsync("/jobs/cancel", """{"queue":"q-cancel-a","dryRun":true}"""));
        var clock = Stopwatch.StartNew();
        var (changed, _) = await PostAsync("/jobs/cancel", """{"queue":"q-cancel-a"}""");
        clock.Stop();
        output.WriteLine($"POST /jobs/cancel moved {changed:N0} of {Jobs:N0} live jobs in {clock.ElapsedMilliseconds:N0} ms");

        Assert.Equal(expected, changed);
        Assert.Equal(expected, await api.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_history WHERE id = ANY ($1) AND state = 'cancelled'", targets));
        Assert.Equal(0, await api.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE id = ANY ($1)", targets));
        Assert.Equal(others, await api.Db.ScalarAsync<string>(Digest.Replace("NOT ($2)", $"NOT (id = ANY ($2))", StringComparison.Ordinal), queues, targets));
        Assert.Equal("", await api.Db.ScalarAsync<string>(JobsTable.CountMismatches));
        Assert.Equal((0, false), await PostAsync("/jobs/cancel", """{"queue":"q-cancel-a"}"""));
    }

    [Fact]
    public async Task Retry_brings_back_one_job_per_idempotency_key_and_none_whose_key_a_live_job_holds()
    {
        await api.Db.ExecuteAsync("""
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, finalized_at, errors, idempotency_key)
            SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')), 'discarded', 'q-retry-keys', 'noop', '{}', 5, 1, 1, now(), now(), now(), '[]', k
            FROM unnest(ARRAY['twice', 'twice', 'held', NULL]) AS k
            """);
        await api.Db.ExecuteAsync("INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, idempotency_key) VALUES ('available', 'q-retry-other', 'noop', '{}', 5, 1, now(), 'held')");
        var newestTwice = await api.Db.ScalarAsync<long>("SELECT max(id) FROM jobs.job_history WHERE idempotency_key = 'twice'");

        Assert.Equal((2, true), await PostAsync("/jobs/retry", """{"queue":"q-retry-keys","dryRun":true}"""));
        Assert.Equal((2, false), await PostAsync("/jobs/retry", """{"queue":"q-retry-keys"}"""));
        Assert.Equal(newestTwice, await api.Db.ScalarAsync<long>("SELECT id FROM jobs.job WHERE idempotency_key = 'twice'"));
        Assert.Equal(2, await api.Db.CountAsync("q-retry-keys", "discarded"));
        Assert.Equal((0, false), await PostAsync("/jobs/retry", """{"queue":"q-retry-keys"}"""));
    }

    [Fact]
    public async Task A_retried_job_is_no_longer_served_from_the_cache_as_finished()
    {
        var id = await api.Db.ScalarAsync<long>("""
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, finalized_at, errors)
            VALUES (nextval(pg_get_serial_sequence('jobs.job', 'id')), 'cancelled', 'q-retry-cache', 'noop', '{}', 5, 0, 1, now(), now(), now(), '[]')
            RETURNING id
            """);
        await api.Admin.GetAsync($"/jobs/{id}");
        Assert.Equal("hit", (await api.Admin.GetAsync($"/jobs/{id}")).Cache());

        Assert.Equal((1, false), await PostAsync("/jobs/retry", """{"queue":"q-retry-cache"}"""));
        var job = await api.Admin.GetAsync($"/jobs/{id}");
        Assert.Equal("available", (await job.BodyAsync()).GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_bulk_action_needs_the_admin_scope()
    {
        await (await api.Producer.PostJsonAsync("/jobs/retry", "{}")).AssertProblemAsync(HttpStatusCode.Forbidden, "Authorization");
        await (await api.Anonymous.PostJsonAsync("/jobs/cancel", "{}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "Authorization");
    }
}
