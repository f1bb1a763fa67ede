using System.Net;
using System.Text.Json;
using JobEngine.Tests;

namespace Api.Tests;

public sealed class BatchesApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static string Job(string queue) => JsonSerializer.Serialize(new { kind = "noop", queue });

    // Fails its first attempt, its only one: discarded; a retry (which grants one more attempt) succeeds.
    private static string FailingJob(string queue) => JsonSerializer.Serialize(new { kind = "fail", queue, maxAttempts = 1, args = new { untilAttempt = 2 } });

    private static string Body(string queue, bool open, params string[] jobs) =>
        $$$"""{"name":"test","open":{{{(open ? "true" : "false")}}},"callback":{"kind":"noop","queue":"{{{queue}}}","args":{"report":"daily"}},"jobs":[{{{string.Join(",", jobs)}}}]}""";

    private Task<JsonElement> WaitForCountsAsync(long id, Func<JsonElement, bool> done, string what) =>
        Eventually.WaitForAsync(async () => (await (await api.Producer.GetAsync($"/batches/{id}")).BodyAsync()).GetProperty("counts"), done, what);

    private Task<long> BatchRowsAsync() => api.Db.ScalarAsync<long>("SELECT (SELECT count(*) FROM jobs.batch) + (SELECT count(*) FROM jobs.job_pending) + (SELECT count(*) FROM jobs.job)");

    [Fact]
    public async Task A_batch_is_201_and_its_callback_runs_once_after_every_job_with_the_counts_in_its_args()
    {
        var response = await api.Producer.PostJsonAsync("/batches", Body("q-b-run", false, Job("q-b-run"), Job("q-b-run"), FailingJob("q-b-run")));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.BodyAsync();
        var id = created.GetProperty("id").GetInt64();
        var callbackId = created.GetProperty("callbackJobId").GetInt64();
        Assert.Equal($"/batches/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("sealed", created.GetProperty("state").GetString());
        Assert.Equal(3, created.GetProperty("jobIds").GetArrayLength());
        var waiting = await (await api.Producer.GetAsync($"/batches/{id}")).BodyAsync();
        Assert.Equal(("sealed", "pending", 3), (waiting.GetProperty("state").GetString(), waiting.GetProperty("callbackState").GetString(),
            waiting.GetProperty("counts").GetProperty("remaining").GetInt32()));

        await using var worker = await TestWorker.StartAsync(api.Db, new() { ["Queues:q-b-run"] = "4" });
        var done = await Eventually.WaitForAsync(
            async () => await (await api.Producer.GetAsync($"/batches/{id}")).BodyAsync(),
            b => b.GetProperty("callbackState").GetString() == "completed", $"the callback of batch {id} to complete", TimeSpan.FromMinutes(2));

        Assert.Equal("fired", done.GetProperty("state").GetString());
        var counts = done.GetProperty("counts");
        Assert.Equal((3, 0, 2, 1, 0), (counts.GetProperty("total").GetInt32(), counts.GetProperty("remaining").GetInt32(),
            counts.GetProperty("completed").GetInt32(), counts.GetProperty("discarded").GetInt32(), counts.GetProperty("cancelled").GetInt32()));
        var callback = await (await api.Producer.GetAsync($"/jobs/{callbackId}")).BodyAsync();
        var args = callback.GetProperty("args");
        Assert.Equal("daily", args.GetProperty("report").GetString());
        Assert.Equal((id, 3, 2, 1, 0), (args.GetProperty("batch").GetProperty("id").GetInt64(), args.GetProperty("batch").GetProperty("total").GetInt32(),
            args.GetProperty("batch").GetProperty("completed").GetInt32(), args.GetProperty("batch").GetProperty("discarded").GetInt32(),
            args.GetProperty("batch").GetProperty("cancelled").GetInt32()));
        Assert.Equal(1, callback.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task An_open_batch_takes_jobs_until_it_is_sealed_then_adding_is_a_409_that_writes_nothing()
    {
        var created = await (await api.Producer.PostJsonAsync("/batches", Body("q-b-open", true))).BodyAsync();
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal("open", created.GetProperty("state").GetString());

        var added = await api.Producer.PostJsonAsync($"/batches/{id}/jobs", $$"""{"jobs":[{{Job("q-b-open")}},{{Job("q-b-open")}}]}""");
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var addedBody = await added.BodyAsync();
        Assert.Equal(2, addedBody.GetProperty("jobIds").GetArrayLength());
        Assert.Equal(("open", 2), (addedBody.GetProperty("batch").GetProperty("state").GetString(), addedBody.GetProperty("batch").GetProperty("counts").GetProperty("total").GetInt32()));

        var sealedBatch = await (await api.Producer.PostAsync($"/batches/{id}/seal", null)).BodyAsync();
        var sealedAgain = await api.Producer.PostAsync($"/batches/{id}/seal", null);
        var before = await BatchRowsAsync();
        var late = await api.Producer.PostJsonAsync($"/batches/{id}/jobs", $$"""{"jobs":[{{Job("q-b-open")}}]}""");

        Assert.Equal(("sealed", "pending"), (sealedBatch.GetProperty("state").GetString(), sealedBatch.GetProperty("callbackState").GetString()));
        Assert.Equal(HttpStatusCode.OK, sealedAgain.StatusCode);
        var problem = await late.AssertProblemAsync(HttpStatusCode.Conflict, "id");
        Assert.Contains("is sealed", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await BatchRowsAsync());
    }

    [Fact]
    public async Task A_job_retried_in_bulk_before_its_batch_fired_counts_once()
    {
        var id = (await (await api.Producer.PostJsonAsync("/batches", Body("q-b-bulk", true, FailingJob("q-b-bulk"), Job("q-b-bulk")))).BodyAsync()).GetProperty("id").GetInt64();
        await using var worker = await TestWorker.StartAsync(api.Db, new() { ["Queues:q-b-bulk"] = "4" });
        await WaitForCountsAsync(id, c => c.GetProperty("discarded").GetInt32() == 1 && c.GetProperty("remaining").GetInt32() == 0, "one job discarded, one completed");

        var retried = await api.Admin.PostJsonAsync("/jobs/retry", """{"queue":"q-b-bulk"}""");
        await WaitForCountsAsync(id, c => c.GetProperty("completed").GetInt32() == 2, "the retried job to complete");
        await api.Producer.PostAsync($"/batches/{id}/seal", null);
        var done = await Eventually.WaitForAsync(
            async () => await (await api.Producer.GetAsync($"/batches/{id}")).BodyAsync(),
            b => b.GetProperty("callbackState").GetString() == "completed", $"the callback of batch {id} to complete");

        Assert.Equal(1, (await retried.BodyAsync()).GetProperty("count").GetInt32());
        var counts = done.GetProperty("counts");
        Assert.Equal((2, 2, 0), (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("discarded").GetInt32()));
    }

    [Fact]
    public async Task An_empty_batch_fires_at_once_and_its_callback_is_queued_with_zero_counts()
    {
        var created = await (await api.Producer.PostJsonAsync("/batches", Body("q-b-empty", false))).BodyAsync();

        Assert.Equal("fired", created.GetProperty("state").GetString());
        var callback = await (await api.Producer.GetAsync($"/jobs/{created.GetProperty("callbackJobId").GetInt64()}")).BodyAsync();
        Assert.Equal("available", callback.GetProperty("state").GetString());
        Assert.Equal(0, callback.GetProperty("args").GetProperty("batch").GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("""{"jobs":[]}""", "callback", "'callback' is required")]
    [InlineData("""{"callback":{"kind":"noop","runAt":"2099-01-01T00:00:00Z"}}""", "callback.runAt", "")]
    [InlineData("""{"callback":{"kind":"noop","args":{"batch":1}}}""", "callback.args.batch", "")]
    [InlineData("""{"callback":{"kind":"nobody-runs-this"}}""", "callback.kind", "'nobody-runs-this'")]
    [InlineData("""{"callback":{"kind":"noop"},"jobs":[{"kind":"noop"},{"kind":"noop","priority":12}]}""", "jobs[1].priority", "")]
    [InlineData("""{"callback":{"kind":"noop"},"jobs":[{"kind":"noop"},{"kind":"nobody-runs-this"}]}""", "jobs[1].kind", "'nobody-runs-this'")]
    [InlineData("""{"callback":{"kind":"noop"},"jobs":[{"kind":"noop","idempotencyKey":"k"}]}""", "jobs[0].idempotencyKey", "")]
    [InlineData("""{"callback":{"kind":"noop"},"jobs":{}}""", "jobs", "")]
    [InlineData("""{"callback":{"kind":"noop"},"open":"yes"}""", "open", "")]
    [InlineData("""{"callback":{"kind":"noop"},"extra":1}""", "extra", "")]
    [InlineData("""[]""", "body", "")]
    public async Task An_invalid_batch_is_a_400_naming_the_field_and_nothing_is_written(string body, string field, string named)
    {
        var before = await BatchRowsAsync();

        var response = await api.Producer.PostJsonAsync("/batches", body);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Contains(named, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await BatchRowsAsync());
    }

    [Fact]
    public async Task Ids_keys_and_bodies_of_the_other_endpoints_are_checked_and_a_producer_sees_only_its_own_batches()
    {
        var created = await (await api.Producer.PostJsonAsync("/batches", Body("q-b-own", true))).BodyAsync();
        var id = created.GetProperty("id").GetInt64();
        var oneJob = $$"""{"jobs":[{{Job("q-b-own")}}]}""";

        Assert.Equal(HttpStatusCode.OK, (await api.Admin.GetAsync($"/batches/{id}")).StatusCode);
        await (await api.OtherProducer.GetAsync($"/batches/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.OtherProducer.PostJsonAsync($"/batches/{id}/jobs", oneJob)).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.OtherProducer.PostAsync($"/batches/{id}/seal", null)).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.Producer.GetAsync($"/batches/{long.MaxValue}")).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.Producer.GetAsync("/batches/0")).AssertProblemAsync(HttpStatusCode.BadRequest, "id");
        await (await api.Producer.PostAsync("/batches/abc/seal", null)).AssertProblemAsync(HttpStatusCode.BadRequest, "id");
        await (await api.Producer.PostJsonAsync($"/batches/{id}/jobs", """{"jobs":[]}""")).AssertProblemAsync(HttpStatusCode.BadRequest, "jobs");
        await (await api.Producer.PostJsonAsync($"/batches/{id}/jobs", """{"jobs":[{"kind":"noop"}],"open":true}""")).AssertProblemAsync(HttpStatusCode.BadRequest, "open");
        using var keyed = new HttpRequestMessage(HttpMethod.Post, "/batches") { Content = Http.Json(Body("q-b-own", false)) };
        keyed.Headers.Add("Idempotency-Key", "once");
        await (await api.Producer.SendAsync(keyed)).AssertProblemAsync(HttpStatusCode.BadRequest, "Idempotency-Key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.PostJsonAsync("/batches", Body("q-b-own", false))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.GetAsync($"/batches/{id}")).StatusCode);
        Assert.Equal(0, (await (await api.Producer.GetAsync($"/batches/{id}")).BodyAsync()).GetProperty("counts").GetProperty("total").GetInt32());
    }
}
