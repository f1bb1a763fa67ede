using System.Net;
using System.Text.Json;
using JobEngine.Tests;

namespace Api.Tests;

public sealed class JobsApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static long Id(JsonElement job) => job.GetProperty("id").GetInt64();

    private async Task<JsonElement> EnqueueAsync(string json, HttpClient? client = null)
    {
        var response = await (client ?? api.Admin).PostJsonAsync("/jobs", json);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.BodyAsync();
    }

    [Fact]
    public async Task Enqueue_answers_201_with_location_and_the_stored_job()
    {
        var response = await api.Producer.PostJsonAsync("/jobs",
            """{"kind":"noop","args":{"n":1},"queue":"q-enqueue","priority":2,"maxAttempts":3,"runAt":"2099-01-01T00:00:00Z"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var job = await response.BodyAsync();
        Assert.Equal($"/jobs/{Id(job)}", response.Headers.Location?.OriginalString);
        Assert.Equal("scheduled", job.GetProperty("state").GetString());
        Assert.Equal(1, job.GetProperty("args").GetProperty("n").GetInt32());
        Assert.Equal(2, job.GetProperty("priority").GetInt32());
        Assert.Equal(3, job.GetProperty("maxAttempts").GetInt32());
        Assert.Equal("producer", job.GetProperty("createdBy").GetString());
        Assert.Equal("producer", await api.Db.ScalarAsync<string>("SELECT created_by FROM jobs.job_all WHERE id = $1", Id(job)));
        Assert.Equal(new DateTime(2099, 1, 1, 0, 0, 0, DateTimeKind.Utc), await api.Db.ScalarAsync<DateTime>("SELECT run_at FROM jobs.job_all WHERE id = $1", Id(job)));
    }

    [Fact]
    public async Task Defaults_apply_when_optional_fields_are_left_out()
    {
        var job = await EnqueueAsync("""{"kind":"noop"}""");
        Assert.Equal("default", job.GetProperty("queue").GetString());
        Assert.Equal(5, job.GetProperty("priority").GetInt32());
        Assert.Equal(25, job.GetProperty("maxAttempts").GetInt32());
        Assert.Equal("available", job.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Object, job.GetProperty("args").ValueKind);
    }

    [Fact]
    public async Task Same_idempotency_key_returns_the_original_job_with_200_and_a_new_key_creates_one()
    {
        var key = Guid.NewGuid().ToString();
        var first = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json("""{"kind":"noop","queue":"q-idem"}""") };
        first.Headers.Add("Idempotency-Key", key);
        var created = await api.Producer.SendAsync(first);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var original = await created.BodyAsync();
        Assert.Equal(key, original.GetProperty("idempotencyKey").GetString());

        var again = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json("""{"kind":"noop","queue":"q-idem"}""") };
        again.Headers.Add("Idempotency-Key", key);
        var repeated = await api.Producer.SendAsync(again);
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.Equal(Id(original), Id(await repeated.BodyAsync()));

        // The same key from another producer is that producer's own key: a new job, and no peek at the first.
        var other = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json("""{"kind":"noop","queue":"q-idem"}""") };
        other.Headers.Add("Idempotency-Key", key);
        var otherResponse = await api.OtherProducer.SendAsync(other);
        Assert.Equal(HttpStatusCode.Created, otherResponse.StatusCode);
        Assert.NotEqual(Id(original), Id(await otherResponse.BodyAsync()));

        var fresh = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json("""{"kind":"noop","queue":"q-idem"}""") };
        fresh.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        var freshResponse = await api.Producer.SendAsync(fresh);
        Assert.Equal(HttpStatusCode.Created, freshResponse.StatusCode);
        Assert.Equal(3, await api.Db.CountAsync("q-idem", "available"));
    }

    [Fact]
    public async Task Batch_enqueues_every_job_in_order_in_one_transaction()
    {
        var response = await api.Producer.PostJsonAsync("/jobs/batch",
            """[{"kind":"noop","queue":"q-batch","args":{"i":0}},{"kind":"noop","queue":"q-batch","args":{"i":1}},{"kind":"sleep","queue":"q-batch","args":{"ms":1},"idempotencyKey":"k1"}]""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var jobs = (await response.BodyAsync()).EnumerateArray().ToArray();
        Assert.Equal(3, jobs.Length);
        Assert.Equal(1, jobs[1].GetProperty("args").GetProperty("i").GetInt32());
        Assert.Equal("k1", jobs[2].GetProperty("idempotencyKey").GetString());
        Assert.True(Id(jobs[0]) < Id(jobs[1]) && Id(jobs[1]) < Id(jobs[2]));
        Assert.Equal(3, await api.Db.CountAsync("q-batch", "available"));
    }

    [Fact]
    public async Task Batch_with_one_bad_job_or_over_the_maximum_writes_nothing()
    {
        var bad = await api.Producer.PostJsonAsync("/jobs/batch", """[{"kind":"noop","queue":"q-batch-bad"},{"kind":"noop","queue":"q-batch-bad","priority":10}]""");
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest, "[1].priority");

        var unknown = await api.Producer.PostJsonAsync("/jobs/batch", """[{"kind":"noop","queue":"q-batch-bad"},{"kind":"nobody-runs-this","queue":"q-batch-bad"}]""");
        await unknown.AssertProblemAsync(HttpStatusCode.BadRequest, "[1].kind");

        var tooMany = await api.Producer.PostJsonAsync("/jobs/batch", "[" + string.Join(",", Enumerable.Repeat("""{"kind":"noop","queue":"q-batch-bad"}""", 1001)) + "]");
        var problem = await tooMany.AssertProblemAsync(HttpStatusCode.BadRequest, "body");
        Assert.Contains("1000", problem.GetProperty("expected").GetString(), StringComparison.Ordinal);

        Assert.Equal(0L, await api.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = 'q-batch-bad'"));
    }

    [Fact]
    public async Task Unknown_kind_is_refused_until_a_worker_registers_it()
    {
        var kind = "k-" + Guid.NewGuid().ToString("N")[..8];
        var refused = await api.Producer.PostJsonAsync("/jobs", $$"""{"kind":"{{kind}}","queue":"q-kinds"}""");
        var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "kind");
        Assert.Contains(kind, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await api.Db.ExecuteAsync("INSERT INTO jobs.kind (kind, worker) VALUES ($1, 'test-worker')", kind);
        var accepted = await api.Producer.PostJsonAsync("/jobs", $$"""{"kind":"{{kind}}","queue":"q-kinds"}""");
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }

    [Fact]
    public async Task Get_shows_a_producer_its_own_jobs_only_and_an_admin_every_job()
    {
        var mine = await EnqueueAsync("""{"kind":"noop","queue":"q-get"}""", api.Producer);

        var own = await api.Producer.GetAsync($"/jobs/{Id(mine)}");
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal("available", (await own.BodyAsync()).GetProperty("state").GetString());

        await (await api.OtherProducer.GetAsync($"/jobs/{Id(mine)}")).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        Assert.Equal(HttpStatusCode.OK, (await api.Admin.GetAsync($"/jobs/{Id(mine)}")).StatusCode);
        await (await api.Admin.GetAsync("/jobs/999999999")).AssertProblemAsync(HttpStatusCode.NotFound, "id");
    }

    [Fact]
    public async Task Listing_filters_and_pages_with_a_cursor_newest_first_without_gaps_or_repeats()
    {
        var queue = "q-list-" + Guid.NewGuid().ToString("N")[..6];
        var ids = new List<long>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add(Id(await EnqueueAsync($$"""{"kind":"{{(i % 2 == 0 ? "noop" : "sleep")}}","queue":"{{queue}}"}""")));
        }

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var response = await api.Admin.GetAsync($"/jobs?queue={queue}&limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.BodyAsync();
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(Id));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(ids.OrderDescending(), seen);

        var sleeps = await (await api.Admin.GetAsync($"/jobs?queue={queue}&kind=sleep")).BodyAsync();
        Assert.Equal(ids.Where((_, i) => i % 2 == 1).OrderDescending(), sleeps.GetProperty("items").EnumerateArray().Select(Id));

        await api.Admin.PostAsync($"/jobs/{ids[0]}/cancel", null);
        var cancelled = await (await api.Admin.GetAsync($"/jobs?state=cancelled&queue={queue}")).BodyAsync();
        Assert.Equal([ids[0]], cancelled.GetProperty("items").EnumerateArray().Select(Id));
    }

    [Fact]
    public async Task Cancel_and_retry_change_state_or_answer_409()
    {
        var job = await EnqueueAsync("""{"kind":"noop","queue":"q-actions"}""");

        var cancel = await api.Admin.PostAsync($"/jobs/{Id(job)}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.BodyAsync()).GetProperty("state").GetString());
        await (await api.Admin.PostAsync($"/jobs/{Id(job)}/cancel", null)).AssertProblemAsync(HttpStatusCode.Conflict, "state");

        var retry = await api.Admin.PostAsync($"/jobs/{Id(job)}/retry", null);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("available", (await retry.BodyAsync()).GetProperty("state").GetString());
        await (await api.Admin.PostAsync($"/jobs/{Id(job)}/retry", null)).AssertProblemAsync(HttpStatusCode.Conflict, "state");

        await (await api.Admin.PostAsync("/jobs/999999999/cancel", null)).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.Admin.PostAsync("/jobs/999999999/retry", null)).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        Assert.Equal("available", await api.Db.StateAsync(Id(job)));
    }

    [Fact]
    public async Task A_worker_runs_a_job_enqueued_over_http_and_its_errors_and_attempts_are_shown()
    {
        await using var worker = await TestWorker.StartAsync(api.Db, new() { ["Queues:q-run"] = "4" });
        var job = await EnqueueAsync("""{"kind":"fail","queue":"q-run","args":{"untilAttempt":2},"maxAttempts":1}""");
        await api.Db.WaitForStateAsync(Id(job), "discarded");

        var shown = await (await api.Admin.GetAsync($"/jobs/{Id(job)}")).BodyAsync();
        Assert.Equal("discarded", shown.GetProperty("state").GetString());
        Assert.Equal(1, shown.GetProperty("attempt").GetInt32());
        Assert.Contains("attempt 1", shown.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(shown.GetProperty("finalizedAt").ValueKind == JsonValueKind.Null);

        var retried = await api.Admin.PostAsync($"/jobs/{Id(job)}/retry", null);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        await api.Db.WaitForStateAsync(Id(job), "completed");
        var completed = await (await api.Admin.GetAsync($"/jobs/{Id(job)}")).BodyAsync();
        Assert.Equal("completed", completed.GetProperty("state").GetString());
        Assert.Equal(2, completed.GetProperty("attempt").GetInt32());
    }
}
