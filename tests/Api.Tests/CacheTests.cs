using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using JobEngine.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests;

public sealed class CacheTests(ApiFixture api) : IClassFixture<ApiFixture>, IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Rule, string Result)> _recorded = new();

    private void Listen()
    {
        // Only this fixture's Api: other test classes run their own Api in the same process.
        var meters = api.Factory.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "api.cache.requests" && instrument.Meter.Name == "Api" && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var map = tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString());
            _recorded.Enqueue((map["rule"]!, map["result"]!));
        });
        _listener.Start();
    }

    [Fact]
    public async Task Stats_are_a_miss_then_a_hit_and_no_cache_bypasses()
    {
        Listen();
        await api.Db.ExecuteAsync("DELETE FROM jobs.job WHERE queue = 'q-stats'");
        var fresh = new HttpRequestMessage(HttpMethod.Get, "/stats");
        fresh.Headers.CacheControl = new() { NoCache = true };
        var bypass = await api.Admin.SendAsync(fresh);
        Assert.Equal("bypass", bypass.Cache());

        // Stored by the bypass: the next reads within the TTL are hits, with the same figures.
        var hit = await api.Admin.GetAsync("/stats");
        Assert.Equal("hit", hit.Cache());
        Assert.Equal((await bypass.BodyAsync()).GetProperty("generatedAt").GetString(), (await hit.BodyAsync()).GetProperty("generatedAt").GetString());

        // After the TTL (2 s) the next read is a miss.
        await Eventually.WaitForAsync(async () => (await api.Admin.GetAsync("/stats")).Cache(), c => c == "miss", "a stats miss after the TTL", TimeSpan.FromSeconds(10));
        Assert.Contains(("stats", "hit"), _recorded);
        Assert.Contains(("stats", "miss"), _recorded);
        Assert.Contains(("stats", "bypass"), _recorded);
    }

    [Fact]
    public async Task Stats_count_jobs_per_queue_and_state_and_the_last_hour()
    {
        // This class's tests run one at a time on their own database: start from no jobs at all
        // (TRUNCATE also empties the count tables), so every figure below is known exactly.
        await api.Db.ExecuteAsync("TRUNCATE jobs.job");
        for (var i = 0; i < 3; i++)
        {
            await api.Admin.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-stats-count"}""");
        }

        // One job completed 10 ms after it was due; the other two have been due for 90 s.
        var dueSince = await api.Db.ScalarAsync<DateTime>("SELECT now()");
        var first = await api.Db.ScalarAsync<long>("SELECT min(id) FROM jobs.job WHERE queue = 'q-stats-count'");
        await api.Db.ExecuteAsync("UPDATE jobs.job SET attempt = 1, attempted_at = greatest(run_at, created_at) + interval '10 ms' WHERE id = $1", first);
        await api.Db.FinalizeAsync([first], "completed");
        await api.Db.ExecuteAsync("UPDATE jobs.job SET run_at = $1::timestamptz - interval '90 s' WHERE state = 'available'", dueSince);
        var fresh = new HttpRequestMessage(HttpMethod.Get, "/stats");
        fresh.Headers.CacheControl = new() { NoCache = true };
        var stats = await (await api.Admin.SendAsync(fresh)).BodyAsync();
        var readBy = await api.Db.ScalarAsync<double>("SELECT extract(epoch FROM now() - $1::timestamptz)::float8", dueSince);

        var queue = Assert.Single(stats.GetProperty("queues").EnumerateArray());
        Assert.Equal("q-stats-count", queue.GetProperty("queue").GetString());
        Assert.Equal(2, queue.GetProperty("counts").GetProperty("available").GetInt64());
        Assert.Equal(1, queue.GetProperty("counts").GetProperty("completed").GetInt64());
        Assert.Equal(0, queue.GetProperty("counts").GetProperty("discarded").GetInt64());
        Assert.Equal(1, queue.GetProperty("completedLastHour").GetInt64());
        Assert.Equal(0, queue.GetProperty("discardedLastHour").GetInt64());
        Assert.Equal(10, queue.GetProperty("latencyMs").GetProperty("p50").GetDouble(), 6);
        Assert.Equal(10, queue.GetProperty("latencyMs").GetProperty("p95").GetDouble(), 6);
        var minute = Assert.Single(stats.GetProperty("perMinute").EnumerateArray());
        Assert.Equal(1, minute.GetProperty("completed").GetInt64());
        Assert.Equal(0, minute.GetProperty("discarded").GetInt64());
        Assert.Equal(0, stats.GetProperty("errorRate").GetDouble());
        Assert.Equal(10, stats.GetProperty("queueLatencyMs").GetProperty("p50").GetDouble(), 6);
        Assert.Equal(10, stats.GetProperty("queueLatencyMs").GetProperty("p95").GetDouble(), 6);
        Assert.InRange(stats.GetProperty("oldestWaitingSeconds").GetDouble(), 90, 90 + readBy);
    }

    [Fact]
    public async Task A_finalized_job_is_cached_a_live_one_never_and_retry_invalidates()
    {
        Listen();
        var created = await (await api.Admin.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-cache-job"}""")).BodyAsync();
        var id = created.GetProperty("id").GetInt64();

        Assert.Equal("bypass", (await api.Admin.GetAsync($"/jobs/{id}")).Cache());
        Assert.Equal("bypass", (await api.Admin.GetAsync($"/jobs/{id}")).Cache());

        // Finished the way a Worker finishes it: behind the Api's back.
        await api.Db.ExecuteAsync("UPDATE jobs.job SET attempt = 1, max_attempts = 1 WHERE id = $1", id);
        await api.Db.FinalizeAsync([id], "discarded");
        var miss = await api.Admin.GetAsync($"/jobs/{id}");
        Assert.Equal("miss", miss.Cache());
        var hit = await api.Admin.GetAsync($"/jobs/{id}");
        Assert.Equal("hit", hit.Cache());
        Assert.Equal("discarded", (await hit.BodyAsync()).GetProperty("state").GetString());

        // The entry is in Redis too, under the configured prefix.
        var inRedis = await api.Factory.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()
            .GetDatabase().KeyExistsAsync($"{api.Db.Name}:job:v1:{id}");
        Assert.True(inRedis);

        Assert.Equal(HttpStatusCode.OK, (await api.Admin.PostAsync($"/jobs/{id}/retry", null)).StatusCode);
        var afterRetry = await api.Admin.GetAsync($"/jobs/{id}");
        Assert.Equal("bypass", afterRetry.Cache());
        Assert.Equal("available", (await afterRetry.BodyAsync()).GetProperty("state").GetString());

        var noCache = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}");
        noCache.Headers.CacheControl = new() { NoCache = true };
        Assert.Equal("bypass", (await api.Admin.SendAsync(noCache)).Cache());

        Assert.Contains(("job", "miss"), _recorded);
        Assert.Contains(("job", "hit"), _recorded);
        Assert.Contains(("job", "bypass"), _recorded);
    }

    [Fact]
    public async Task A_producer_cannot_read_another_producers_finalized_job_from_the_cache()
    {
        var created = await (await api.Producer.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-cache-owner"}""")).BodyAsync();
        var id = created.GetProperty("id").GetInt64();
        await api.Admin.PostAsync($"/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, (await api.Producer.GetAsync($"/jobs/{id}")).StatusCode);
        var other = await api.OtherProducer.GetAsync($"/jobs/{id}");
        Assert.Equal("hit", other.Cache());
        await other.AssertProblemAsync(HttpStatusCode.NotFound, "id");
    }

    public void Dispose() => _listener.Dispose();
}
