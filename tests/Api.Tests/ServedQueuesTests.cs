using System.Net;
using JobEngine.Tests;

namespace Api.Tests;

/// <summary>
/// Issue 14's "served by a live Worker": <c>GET /queues</c> says how many live Workers serve each
/// queue (jobs.worker, migration 11), and an enqueue into a queue none serves is stored and
/// answered with a <c>Warning</c> header naming the queue.
/// </summary>
public sealed class ServedQueuesTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static string[] Warnings(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Warning", out var values) ? [.. values] : [];

    private Task AddWorkerAsync(string id, string[] queues, string heartbeatAgo, long leaseMs) =>
        api.Db.ExecuteAsync(
            "INSERT INTO jobs.worker (worker_id, queues, heartbeat_at, lease_ms) VALUES ($1, $2, now() - $3::interval, $4)",
            id, queues, heartbeatAgo, leaseMs);

    [Fact]
    public async Task A_job_sent_to_a_queue_no_live_worker_serves_is_stored_with_a_warning()
    {
        var unserved = await api.Producer.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-nobody"}""");
        Assert.Equal(HttpStatusCode.Created, unserved.StatusCode);
        Assert.Equal(["199 - \"no live Worker serves queue q-nobody: the job waits until one does\""], Warnings(unserved));

        // A Worker that starts is seen at once (a queue missing from the cached set is read again).
        await AddWorkerAsync("w-served", ["q-served", "q-other"], "0 seconds", 60_000);
        var served = await api.Producer.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-served"}""");
        Assert.Equal(HttpStatusCode.Created, served.StatusCode);
        Assert.Empty(Warnings(served));

        // A Worker silent for longer than its lease serves nothing.
        await AddWorkerAsync("w-gone", ["q-stale"], "2 minutes", 1_000);
        var batch = await api.Producer.PostJsonAsync("/jobs/batch",
            """[{"kind":"noop","queue":"q-served"},{"kind":"noop","queue":"q-stale"},{"kind":"noop","queue":"q-é \"x\""},{"kind":"noop","queue":"q-stale"}]""");
        Assert.Equal(HttpStatusCode.Created, batch.StatusCode);
        Assert.Equal(
            ["199 - \"no live Worker serves queue q-stale: the job waits until one does\"",
             "199 - \"no live Worker serves queue q-%C3%A9%20%22x%22: the job waits until one does\""],
            Warnings(batch));
        Assert.Equal(2, await api.Db.CountAsync("q-stale", "available"));
    }

    [Fact]
    public async Task Get_queues_says_how_many_live_workers_serve_each_queue()
    {
        await AddWorkerAsync("w-list-1", ["q-list-served"], "0 seconds", 60_000);
        await AddWorkerAsync("w-list-2", ["q-list-served", "q-list-idle"], "1 second", 60_000);
        await AddWorkerAsync("w-list-gone", ["q-list-waiting"], "10 minutes", 5_000);
        Assert.Equal(HttpStatusCode.Created, (await api.Admin.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-list-waiting"}""")).StatusCode);

        var response = await api.Admin.GetAsync("/queues");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var queues = (await response.BodyAsync()).EnumerateArray()
            .ToDictionary(q => q.GetProperty("queue").GetString()!, q => (q.GetProperty("liveWorkers").GetInt64(), q.GetProperty("served").GetBoolean()));
        Assert.Equal((2, true), queues["q-list-served"]);
        Assert.Equal((1, true), queues["q-list-idle"]);
        Assert.Equal((0, false), queues["q-list-waiting"]);
        await (await api.Producer.GetAsync("/queues")).AssertProblemAsync(HttpStatusCode.Forbidden, "Authorization");
    }

    [Fact]
    public async Task Pause_and_resume_over_http_are_idempotent_and_shown_by_get_queues()
    {
        async Task<(bool Paused, bool Changed)> PostAsync(string path)
        {
            var response = await api.Admin.PostJsonAsync(path, "");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.BodyAsync();
            return (body.GetProperty("paused").GetBoolean(), body.GetProperty("changed").GetBoolean());
        }

        async Task<bool> PausedInListAsync() =>
            (await (await api.Admin.GetAsync("/queues")).BodyAsync()).EnumerateArray()
                .Single(q => q.GetProperty("queue").GetString() == "q-paused-http").GetProperty("paused").GetBoolean();

        Assert.Equal((true, true), await PostAsync("/queues/q-paused-http/pause"));
        Assert.Equal((true, false), await PostAsync("/queues/q-paused-http/pause"));
        Assert.True(await PausedInListAsync());
        Assert.Equal("q-paused-http", await api.Db.ScalarAsync<string>("SELECT queue FROM jobs.queue_pause WHERE paused_by IS NOT NULL AND queue = 'q-paused-http'"));

        Assert.Equal((false, true), await PostAsync("/queues/q-paused-http/resume"));
        Assert.Equal((false, false), await PostAsync("/queues/q-paused-http/resume"));
        Assert.Equal(0L, await api.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.queue_pause WHERE queue = 'q-paused-http'"));
        await (await api.Producer.PostJsonAsync("/queues/q-paused-http/pause", "")).AssertProblemAsync(HttpStatusCode.Forbidden, "Authorization");
    }
}
