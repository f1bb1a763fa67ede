using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using JobEngine.Tests;

namespace Api.Tests;

public sealed class WorkflowsApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static string Step(string name, string queue, params string[] dependsOn) =>
        JsonSerializer.Serialize(new { name, kind = "noop", queue, dependsOn });

    private static string Body(params string[] steps) => $$"""{"name":"test","steps":[{{string.Join(",", steps)}}]}""";

    private Task<long> WorkflowRowsAsync() => api.Db.ScalarAsync<long>("SELECT (SELECT count(*) FROM jobs.workflow) + (SELECT count(*) FROM jobs.job_pending) + (SELECT count(*) FROM jobs.job)");

    [Fact]
    public async Task A_fan_out_and_fan_in_in_one_request_is_201_and_get_shows_its_progress_until_the_fan_in_completed()
    {
        var parallel = Enumerable.Range(0, 1000).Select(i => Step($"p{i}", "q-wf-fan", "root")).ToList();
        var body = Body([Step("root", "q-wf-fan"), .. parallel, Step("join", "q-wf-fan", [.. Enumerable.Range(0, 1000).Select(i => $"p{i}")])]);

        var response = await api.Producer.PostJsonAsync("/workflows", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.BodyAsync();
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal($"/workflows/{id}", response.Headers.Location?.OriginalString);
        var steps = created.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(1002, steps.Count);
        Assert.Equal(("root", "available"), (steps[0].GetProperty("name").GetString(), steps[0].GetProperty("state").GetString()));
        Assert.All(steps.Skip(1), s => Assert.Equal("pending", s.GetProperty("state").GetString()));
        var join = await (await api.Producer.GetAsync($"/jobs/{steps[^1].GetProperty("jobId").GetInt64()}")).BodyAsync();
        Assert.Equal("pending", join.GetProperty("state").GetString());

        var waiting = await (await api.Producer.GetAsync($"/workflows/{id}")).BodyAsync();
        Assert.False(waiting.GetProperty("finished").GetBoolean());
        Assert.Equal(1001, waiting.GetProperty("progress").GetProperty("byState").GetProperty("pending").GetInt32());
        Assert.Equal(["root"], waiting.GetProperty("steps")[1].GetProperty("dependsOn").EnumerateArray().Select(e => e.GetString()));

        await using var worker = await TestWorker.StartAsync(api.Db, new() { ["Queues:q-wf-fan"] = "16" });
        var done = await Eventually.WaitForAsync(
            async () => await (await api.Producer.GetAsync($"/workflows/{id}")).BodyAsync(),
            w => w.GetProperty("finished").GetBoolean(), $"workflow {id} to finish", TimeSpan.FromMinutes(3));

        Assert.Equal(1002, done.GetProperty("progress").GetProperty("total").GetInt32());
        Assert.Equal(1002, done.GetProperty("progress").GetProperty("finished").GetInt32());
        Assert.Equal(1002, done.GetProperty("progress").GetProperty("byState").GetProperty("completed").GetInt32());
        var joinRun = await api.Db.ScalarAsync<DateTime>("SELECT attempted_at FROM jobs.job_history WHERE id = $1", steps[^1].GetProperty("jobId").GetInt64());
        var lastParallel = await api.Db.ScalarAsync<DateTime>("SELECT max(finalized_at) FROM jobs.job_history WHERE id = ANY ($1)", steps.Skip(1).SkipLast(1).Select(s => s.GetProperty("jobId").GetInt64()).ToArray());
        Assert.True(lastParallel <= joinRun, $"the fan-in started at {joinRun:O}, before the last parallel step finished at {lastParallel:O}");
        Assert.Equal(1, await api.Db.ScalarAsync<short>("SELECT attempt FROM jobs.job_history WHERE id = $1", steps[^1].GetProperty("jobId").GetInt64()));
    }

    [Fact]
    public async Task A_cycle_is_a_400_naming_it_and_nothing_is_written()
    {
        var before = await WorkflowRowsAsync();

        var response = await api.Producer.PostJsonAsync("/workflows", Body(Step("a", "q-wf-bad", "b"), Step("b", "q-wf-bad", "a"), Step("c", "q-wf-bad")));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "steps[0].dependsOn");
        Assert.Contains("a -> b -> a", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await WorkflowRowsAsync());
    }

    [Theory]
    [InlineData("""{"steps":[{"name":"a","kind":"noop"},{"name":"b","kind":"noop","dependsOn":["a","nope"]}]}""", "steps[1].dependsOn[1]", "'nope'")]
    [InlineData("""{"steps":[{"name":"a","kind":"noop"},{"name":"a","kind":"noop"}]}""", "steps[1].name", "'a'")]
    [InlineData("""{"steps":[{"name":"a","kind":"noop"},{"name":"b","kind":"nobody-runs-this"}]}""", "steps[1].kind", "'nobody-runs-this'")]
    [InlineData("""{"steps":[{"name":"a","kind":"noop","onDependencyFailure":"ignore"}]}""", "steps[0].onDependencyFailure", "")]
    [InlineData("""{"steps":[{"name":"a","kind":"noop","priority":12}]}""", "steps[0].priority", "")]
    [InlineData("""{"steps":[{"name":"a","kind":"noop","runAt":"2099-01-01T00:00:00Z"}]}""", "steps[0].runAt", "")]
    [InlineData("""{"steps":[{"kind":"noop"}]}""", "steps[0].name", "")]
    [InlineData("""{"steps":[]}""", "steps", "")]
    [InlineData("""{"steps":[{"name":"a","kind":"noop"}],"extra":1}""", "extra", "")]
    public async Task An_invalid_workflow_is_a_400_naming_the_field_and_step_and_nothing_is_written(string body, string field, string named)
    {
        var before = await WorkflowRowsAsync();

        var response = await api.Producer.PostJsonAsync("/workflows", body);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Contains(named, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await WorkflowRowsAsync());
    }

    [Fact]
    public async Task A_producer_reads_only_its_own_workflows_and_an_anonymous_caller_none()
    {
        var created = await (await api.Producer.PostJsonAsync("/workflows", Body(Step("a", "q-wf-own")))).BodyAsync();
        var id = created.GetProperty("id").GetInt64();

        Assert.Equal(HttpStatusCode.OK, (await api.Producer.GetAsync($"/workflows/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Admin.GetAsync($"/workflows/{id}")).StatusCode);
        await (await api.OtherProducer.GetAsync($"/workflows/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.Admin.GetAsync("/workflows/0")).AssertProblemAsync(HttpStatusCode.BadRequest, "id");
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.PostJsonAsync("/workflows", Body(Step("a", "q-wf-own")))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.GetAsync($"/workflows/{id}")).StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_workflow_cancels_its_steps_once_says_how_many_and_only_for_its_producer_or_an_admin()
    {
        var created = await (await api.Producer.PostJsonAsync("/workflows", Body(Step("a", "q-wf-cancel"), Step("b", "q-wf-cancel", "a"), Step("c", "q-wf-cancel", "b")))).BodyAsync();
        var id = created.GetProperty("id").GetInt64();

        await (await api.OtherProducer.PostJsonAsync($"/workflows/{id}/cancel", "")).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.Admin.PostJsonAsync("/workflows/9223372036854775807/cancel", "")).AssertProblemAsync(HttpStatusCode.NotFound, "id");
        await (await api.Admin.PostJsonAsync("/workflows/x/cancel", "")).AssertProblemAsync(HttpStatusCode.BadRequest, "id");
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.PostJsonAsync($"/workflows/{id}/cancel", "")).StatusCode);
        var first = await api.Producer.PostJsonAsync($"/workflows/{id}/cancel", "");
        var again = await api.Admin.PostJsonAsync($"/workflows/{id}/cancel", "");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var body = await first.BodyAsync();
        Assert.Equal((id, 3, 0), (body.GetProperty("id").GetInt64(), body.GetProperty("cancelled").GetInt32(), body.GetProperty("leftRunning").GetInt32()));
        Assert.Equal(0, (await again.BodyAsync()).GetProperty("cancelled").GetInt32());
        var workflow = await (await api.Producer.GetAsync($"/workflows/{id}")).BodyAsync();
        Assert.True(workflow.GetProperty("finished").GetBoolean());
        Assert.Equal(3, workflow.GetProperty("progress").GetProperty("byState").GetProperty("cancelled").GetInt32());
        Assert.Equal($"workflow {id} was cancelled before this step started", workflow.GetProperty("steps")[2].GetProperty("lastError").GetString());
    }

    [Fact]
    public async Task The_listing_is_newest_first_by_name_with_a_cursor_counts_each_workflows_progress_and_is_for_admins()
    {
        var name = "list-" + Guid.NewGuid().ToString("N")[..8];
        var ids = new List<long>();
        foreach (var steps in new[] { 1, 3, 2 })
        {
            var body = $$"""{"name":"{{name}}","steps":[{{string.Join(",", Enumerable.Range(0, steps).Select(i => i == 0 ? Step("s0", "q-wf-list") : Step($"s{i}", "q-wf-list", "s0")))}}]}""";
            ids.Add((await (await api.Producer.PostJsonAsync("/workflows", body)).BodyAsync()).GetProperty("id").GetInt64());
        }

        await api.Admin.PostJsonAsync($"/workflows/{ids[0]}/cancel", "");

        var first = await (await api.Admin.GetAsync($"/workflows?name={name}&limit=2")).BodyAsync();
        var items = first.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([ids[2], ids[1]], items.Select(i => i.GetProperty("id").GetInt64()));
        var progress = items[1].GetProperty("progress");
        Assert.Equal((3, 0, 2, 1), (progress.GetProperty("total").GetInt32(), progress.GetProperty("finished").GetInt32(), progress.GetProperty("pending").GetInt32(), progress.GetProperty("available").GetInt32()));
        Assert.Equal(name, items[1].GetProperty("name").GetString());
        Assert.Equal("producer", items[1].GetProperty("createdBy").GetString());
        var second = await (await api.Admin.GetAsync($"/workflows?name={name}&limit=2&cursor={first.GetProperty("nextCursor").GetString()}")).BodyAsync();
        var last = Assert.Single(second.GetProperty("items").EnumerateArray());
        Assert.Equal(ids[0], last.GetProperty("id").GetInt64());
        Assert.Equal(1, last.GetProperty("progress").GetProperty("finished").GetInt32());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
        Assert.Equal(ids[2], (await (await api.Admin.GetAsync("/workflows?limit=1")).BodyAsync()).GetProperty("items")[0].GetProperty("id").GetInt64());

        await (await api.Producer.GetAsync("/workflows")).AssertProblemAsync(HttpStatusCode.Forbidden, "Authorization");
        await (await api.Admin.GetAsync("/workflows?limit=101")).AssertProblemAsync(HttpStatusCode.BadRequest, "limit");
        await (await api.Admin.GetAsync("/workflows?state=running")).AssertProblemAsync(HttpStatusCode.BadRequest, "state");
        await (await api.Admin.GetAsync("/workflows?cursor=abc")).AssertProblemAsync(HttpStatusCode.BadRequest, "cursor");
        await (await api.Admin.GetAsync($"/workflows?name={new string('n', 201)}")).AssertProblemAsync(HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task The_request_that_enqueues_a_workflow_and_the_run_of_every_step_are_one_trace()
    {
        // The caller's traceparent: the Api's request span continues it, and so must every step.
        var traceId = ActivityTraceId.CreateRandom();
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Microsoft.AspNetCore" or JobEngine.Telemetry.JobTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.TraceId == traceId)
                {
                    spans.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/workflows")
        {
            Content = Http.Json(Body(Step("a", "q-wf-trace"), Step("b", "q-wf-trace", "a"), Step("c", "q-wf-trace", "a", "b"))),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

        var created = await (await api.Producer.SendAsync(request)).BodyAsync();
        await using var worker = await TestWorker.StartAsync(api.Db, new() { ["Queues:q-wf-trace"] = "2" });
        var runs = await Eventually.WaitForAsync(() => Task.FromResult(spans.Where(a => a.OperationName == "job noop").ToList()), r => r.Count == 3,
            "the three steps' runs in the request's trace");

        var server = Assert.Single(spans, a => a.Source.Name == "Microsoft.AspNetCore");
        var enqueue = Assert.Single(spans, a => a.OperationName == "workflow enqueue");
        Assert.Equal(server.SpanId, enqueue.ParentSpanId);
        Assert.All(runs, run => Assert.Equal(enqueue.SpanId, run.ParentSpanId));
        Assert.Equal(created.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("jobId").GetInt64()).Order(), runs.Select(r => (long)r.GetTagItem("job.id")!).Order());
    }

    [Fact]
    public async Task A_step_may_depend_on_its_producers_jobs_by_id_and_an_unknown_or_foreign_id_is_a_400_naming_it()
    {
        var mine = (await (await api.Producer.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-wf-byid"}""")).BodyAsync()).GetProperty("id").GetInt64();
        var theirs = (await (await api.OtherProducer.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-wf-byid"}""")).BodyAsync()).GetProperty("id").GetInt64();
        static string Body(long id) => $$"""{"steps":[{"name":"a","kind":"noop","queue":"q-wf-byid"},{"name":"b","kind":"noop","queue":"q-wf-byid","dependsOn":["a"],"dependsOnJobIds":[{{id}}]}]}""";
        var before = await WorkflowRowsAsync();

        var foreign = await (await api.Producer.PostJsonAsync("/workflows", Body(theirs))).AssertProblemAsync(HttpStatusCode.BadRequest, "steps[1].dependsOnJobIds[0]");
        var unknown = await (await api.Admin.PostJsonAsync("/workflows", Body(987654321))).AssertProblemAsync(HttpStatusCode.BadRequest, "steps[1].dependsOnJobIds[0]");
        await (await api.Producer.PostJsonAsync("/workflows", """{"steps":[{"name":"a","kind":"noop","dependsOnJobIds":["1"]}]}""")).AssertProblemAsync(HttpStatusCode.BadRequest, "steps[0].dependsOnJobIds[0]");
        Assert.Contains($"{theirs}", foreign.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("987654321", unknown.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await WorkflowRowsAsync());

        var created = await api.Producer.PostJsonAsync("/workflows", Body(mine));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.BodyAsync()).GetProperty("id").GetInt64();
        var b = (await (await api.Producer.GetAsync($"/workflows/{id}")).BodyAsync()).GetProperty("steps")[1];
        Assert.Equal([mine], b.GetProperty("dependsOnJobIds").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(HttpStatusCode.Created, (await api.Admin.PostJsonAsync("/workflows", Body(theirs))).StatusCode);
    }
}
