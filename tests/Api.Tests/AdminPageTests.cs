using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using JobEngine.Running;
using JobEngine.Tests;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;

namespace Api.Tests;

/// <summary>
/// The Api on a real loopback port (Kestrel), a Worker running its jobs, and Debian's Chromium
/// driven by Playwright: the admin page as an operator's browser sees it. The database holds what
/// an operator would look at: thousands of jobs in several queues, an hour of finished ones,
/// failures with their errors, a queue with limits and a schedule.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string DashboardUrl = "http://localhost:18888";
    public const string TraceId = "0af7651916cd43dd8448eb211c80319c";
    public const int JobsPerQueue = 1500;

    public TestDatabase Db { get; } = new();
    public ApiFactory Factory { get; private set; } = null!;
    public TestWorker Worker { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>A seeded discarded job with three failed attempts and a trace.</summary>
    public long FailedWithTrace { get; private set; }

    /// <summary>A seeded workflow of four steps on a queue nobody serves: one available, three waiting.</summary>
    public long SeededWorkflow { get; private set; }

    public async Task InitializeAsync()
    {
        await Db.InitializeAsync();
        await SeedAsync();
        var settings = ApiFactory.Settings(Db);
        settings[Api.Apis.AdminPage.DashboardUrlSetting] = DashboardUrl;
        Factory = new ApiFactory(settings);
        Factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        Factory.StartServer();
        var address = Factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Admin = new HttpClient { BaseAddress = BaseAddress };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.Admin);
        Worker = await TestWorker.StartAsync(Db, new()
        {
            ["Queues:q-admin"] = "4",
            ["Limits:q-admin:MaxRunning"] = "4",
            ["Limits:q-admin:RateLimit"] = "1000",
            ["Limits:q-admin:RatePeriod"] = "00:00:01",
        });

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    // Three queues nobody serves (their counts stay put): q-emails waits, q-images waits or is
    // scheduled, q-reports finished over the last 40 minutes, one in seven of them discarded.
    // The counts follow through the triggers of migrations 8 and 9; the per-minute table as below.
    private async Task SeedAsync()
    {
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at)
            SELECT 'available', q, 'noop', jsonb_build_object('to', 'user' || g || '@example.com', 'template', 'welcome', 'n', g), 1, 3, now()
            FROM unnest(ARRAY['q-emails', 'q-images', 'q-reports']) AS q, generate_series(1, $1) AS g
            """, JobsPerQueue);
        await Db.ExecuteAsync("UPDATE jobs.job SET state = 'scheduled', run_at = now() + interval '1 hour' WHERE queue = 'q-images' AND id % 3 = 0");
        // Finished jobs leave jobs.job for the history, as the engine moves them.
        await Db.ExecuteAsync("""
            WITH gone AS (DELETE FROM jobs.job WHERE queue = 'q-reports' RETURNING *)
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                          attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
            SELECT id,
                CASE WHEN id % 7 = 0 THEN 'discarded' ELSE 'completed' END::jobs.job_state,
                queue, kind, args, priority,
                CASE WHEN id % 7 = 0 THEN 3 ELSE 1 END,
                max_attempts,
                now() - (id % 40) * interval '1 minute' - interval '3 seconds' - (id % 11) * interval '37 milliseconds',
                now() - (id % 40) * interval '1 minute' - interval '3 seconds' - (id % 11) * interval '37 milliseconds',
                now() - (id % 40) * interval '1 minute' - interval '3 seconds',
                now() - (id % 40) * interval '1 minute' - interval '1 second',
                'worker-7f3a',
                CASE WHEN id % 7 = 0 THEN (
                    SELECT jsonb_agg(jsonb_build_object('attempt', a, 'at', now() - (id % 40) * interval '1 minute' - (3 - a) * interval '10 seconds',
                        'type', 'System.TimeoutException', 'message', 'The SMTP server did not answer within 30 s (attempt ' || a || ').',
                        'stack', '   at Mailer.SendAsync(Message message)' || chr(10) || '   at Handlers.Email.RunAsync(Job job)'))
                    FROM generate_series(1, 3) AS a) ELSE '[]' END,
                idempotency_key, trace_parent, created_by
            FROM gone
            """);
        // The per-minute table counts a job in the minute it is finalized, as it is finalized
        // (migration 9's trigger counts rows finalized now()); these were finalized in the past, so
        // the seed counts them as the engine did when it finalized them.
        await Db.ExecuteAsync("""
            INSERT INTO jobs.job_finished_minute (minute, queue, shard, completed, discarded, cancelled)
            SELECT date_trunc('minute', finalized_at), queue, 0,
                   count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'discarded'), 0
            FROM jobs.job_history
            WHERE queue = 'q-reports'
            GROUP BY 1, 2
            """);
        FailedWithTrace = await Db.ScalarAsync<long>("SELECT max(id) FROM jobs.job_history WHERE queue = 'q-reports' AND state = 'discarded'");
        await Db.ExecuteAsync("UPDATE jobs.job_history SET trace_parent = $2 WHERE id = $1", FailedWithTrace, $"00-{TraceId}-b7ad6b7169203331-01");
        var step = (string name, string[] dependsOn) => new JobEngine.NewWorkflowStep(name, new JobEngine.NewJob("noop") { Queue = "q-admin-etl" }) { DependsOn = dependsOn };
        SeededWorkflow = (await new JobEngine.JobClient(Db.App).EnqueueWorkflowAsync(new JobEngine.NewWorkflow(
            [step("extract", []), step("transform", ["extract"]), step("load", ["transform"]), step("report", ["load", "extract"])])
        { Name = "nightly-etl", CreatedBy = "producer" })).WorkflowId;
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Worker.DisposeAsync();
        Admin.Dispose();
        await Factory.DisposeAsync();
        await Db.DisposeAsync();
    }
}

public sealed class AdminPageTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private static readonly string[] States = ["available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"];

    /// <summary>
    /// Opens <c>/admin</c> (with an optional <paramref name="hash"/>, as a pasted link would) and
    /// enters the key. Console errors, failed responses and CSP violations are collected in
    /// <paramref name="errors"/>.
    /// </summary>
    private async Task<IPage> OpenAdminAsync(List<string> errors, string hash = "", IBrowserContext? context = null)
    {
        var page = context is null
            ? await fixture.Browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = fixture.BaseAddress.ToString() })
            : await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                errors.Add($"{response.Status} {response.Url}");
            }
        };
        await page.AddInitScriptAsync("document.addEventListener('securitypolicyviolation', e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));");
        var response = await page.GotoAsync("/admin" + hash);
        Assert.Equal(200, response!.Status);
        await page.FillAsync("#key", TestKeys.Admin);
        await page.ClickAsync("#key-form button[type=submit]");
        await page.Locator("#states a[data-state='available'] .count").WaitForAsync();
        return page;
    }

    private async Task<long> EnqueueAsync(string json)
    {
        var response = await fixture.Admin.PostAsync("/jobs", Http.Json(json));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.BodyAsync()).GetProperty("id").GetInt64();
    }

    private async Task SetQueuePausedAsync(string queue, bool paused)
    {
        var response = await fixture.Admin.PostAsync($"/queues/{queue}/{(paused ? "pause" : "resume")}", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonElement> EnqueueWorkflowAsync(string json)
    {
        var response = await fixture.Admin.PostAsync("/workflows", Http.Json(json));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.BodyAsync();
    }

    private async Task<JsonElement> FreshStatsAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/stats");
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        var response = await fixture.Admin.SendAsync(request);
        return await response.BodyAsync();
    }

    private static long Count(JsonElement stats, string queue, string state) =>
        stats.GetProperty("queues").EnumerateArray().Where(q => q.GetProperty("queue").GetString() == queue)
            .Sum(q => q.GetProperty("counts").GetProperty(state).GetInt64());

    private static long Total(JsonElement stats, string state) =>
        stats.GetProperty("queues").EnumerateArray().Sum(q => q.GetProperty("counts").GetProperty(state).GetInt64());

    private static string Int(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_overview_charts_the_last_hour_and_its_counts_match_stats_and_follow_new_jobs_without_a_reload()
    {
        var errors = new List<string>();
        var page = await OpenAdminAsync(errors);

        // A dot for every minute in which seeded jobs completed (40 minutes back), on the y axis in jobs per minute.
        var seededMinutes = new List<string>();
        await using (var command = fixture.Db.Owner.CreateCommand(
            "SELECT DISTINCT date_trunc('minute', finalized_at) FROM jobs.job_all WHERE queue = 'q-reports' AND state = 'completed' ORDER BY 1"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                seededMinutes.Add(reader.GetFieldValue<DateTime>(0).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            }
        }

        Assert.Equal(40, seededMinutes.Count);
        await page.Locator("#chart circle.point.completed").First.WaitForAsync();
        var drawn = await page.EvalOnSelectorAllAsync<string[]>("#chart circle.point.completed", "dots => dots.map(d => d.dataset.minute)");
        Assert.Empty(seededMinutes.Except(drawn));
        Assert.True(await page.Locator("#chart circle.point.failed").CountAsync() >= 1);
        Assert.Contains("jobs / min", await page.Locator("#chart svg").TextContentAsync(), StringComparison.Ordinal);

        // Every state's tile shows the count of GET /stats (the page refreshes; wait until both agree).
        var stats = await FreshStatsAsync();
        foreach (var state in States)
        {
            await Eventually.WaitForAsync(
                async () => (Page: await page.Locator($"#tiles [data-tile='{state}'] .value").TextContentAsync(), Api: Int(Total(await FreshStatsAsync(), state))),
                r => r.Page == r.Api, $"the {state} tile to match /stats");
        }

        var rate = stats.GetProperty("errorRate").GetDouble();
        Assert.Equal($"{rate * 100:F1} %", await page.Locator("#tiles [data-tile='error-rate'] .value").TextContentAsync());
        Assert.Contains(" ms", await page.Locator("#tiles [data-tile='latency'] .value").TextContentAsync(), StringComparison.Ordinal);
        Assert.NotEqual("none", await page.Locator("#tiles [data-tile='oldest'] .value").TextContentAsync());
        Assert.Equal(Int(Total(stats, "available")), await page.Locator("#states a[data-state='available'] .count").TextContentAsync());

        // New jobs show up by themselves: no reload (the marker survives), no click.
        await page.EvaluateAsync("() => window.sameDocument = true");
        var before = Total(await FreshStatsAsync(), "available");
        await fixture.Db.ExecuteAsync("INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at) SELECT 'available', 'q-emails', 'noop', '{}', 1, 3, now() FROM generate_series(1, 250)");
        await page.Locator("#tiles [data-tile='available'] .value", new() { HasTextString = Int(before + 250) }).WaitForAsync(new() { Timeout = 30_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"));

        // Hidden tab: polling pauses and says so; visible again: it refreshes at once.
        await page.EvaluateAsync("() => { Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }); document.dispatchEvent(new Event('visibilitychange')); }");
        Assert.Equal("Paused while this tab is hidden.", await page.Locator("#status").TextContentAsync());
        var refreshed = page.WaitForResponseAsync(r => r.Url.EndsWith("/stats", StringComparison.Ordinal));
        await page.EvaluateAsync("() => { Object.defineProperty(document, 'hidden', { configurable: true, get: () => false }); document.dispatchEvent(new Event('visibilitychange')); }");
        await refreshed;
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task A_pasted_link_opens_the_filtered_list_and_a_job_page_with_its_attempts_trace_and_arguments()
    {
        var errors = new List<string>();
        var page = await OpenAdminAsync(errors, "#/jobs?state=discarded&queue=q-reports");
        await page.Locator("#jobs tbody tr").First.WaitForAsync();
        Assert.Equal("discarded", await page.InputValueAsync("#filter-state"));
        Assert.Equal("q-reports", await page.InputValueAsync("#filter-queue"));
        var discarded = Count(await FreshStatsAsync(), "q-reports", "discarded");
        Assert.Equal((int)Math.Min(50, discarded), await page.Locator("#jobs tbody tr").CountAsync());
        var cells = await page.EvalOnSelectorAllAsync<string[]>("#jobs tbody tr", "rows => rows.map(r => r.cells[1].textContent + '/' + r.cells[2].textContent)");
        Assert.All(cells, c => Assert.Equal("discarded/q-reports", c));
        Assert.Equal("page", await page.GetAttributeAsync("#states a[data-state='discarded']", "aria-current"));

        // The job page by link: every attempt with time and worker, the trace linked to the dashboard, arguments indented.
        await page.GotoAsync($"/admin#/jobs/{fixture.FailedWithTrace}");
        await page.Locator("#detail-errors li .error").First.WaitForAsync();
        Assert.Equal(3, await page.Locator("#detail-errors li").CountAsync());
        var attempts = await page.Locator("#detail-errors .meta").AllTextContentsAsync();
        Assert.StartsWith("attempt 1 · ", attempts[0], StringComparison.Ordinal);
        Assert.EndsWith("worker worker-7f3a", attempts[2], StringComparison.Ordinal);
        Assert.Contains("did not answer within 30 s (attempt 2)", await page.Locator("#detail-errors li").Nth(1).TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal($"{BrowserFixture.DashboardUrl}/traces/detail/{BrowserFixture.TraceId}", await page.GetAttributeAsync("#detail-trace a", "href"));
        Assert.Contains("\n  \"to\": \"user", await page.Locator("#detail-args").TextContentAsync(), StringComparison.Ordinal);
        Assert.True(await page.IsDisabledAsync("#cancel"));
        Assert.True(await page.IsEnabledAsync("#retry"));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task The_page_lists_an_enqueued_job_and_retries_a_discarded_one_to_completion()
    {
        var live = await EnqueueAsync("""{"kind":"sleep","queue":"q-admin-idle","args":{"ms":1}}""");
        var failing = await EnqueueAsync("""{"kind":"fail","queue":"q-admin","args":{"untilAttempt":2},"maxAttempts":1}""");
        await fixture.Db.WaitForStateAsync(failing, "discarded");

        var errors = new List<string>();
        var page = await OpenAdminAsync(errors);

        // The discarded one is among the overview's recent failures, with its error.
        var failure = page.Locator($"#failures tr[data-job-id='{failing}']");
        await failure.WaitForAsync();
        Assert.Contains("attempt 1", await failure.Locator("td.error").TextContentAsync(), StringComparison.Ordinal);

        // Filter by queue from the form (keyboard: type, then Enter): only that queue's job remains.
        await page.ClickAsync("nav a[data-view='jobs']");
        await page.FillAsync("#filter-queue", "q-admin-idle");
        await page.PressAsync("#filter-queue", "Enter");
        await page.Locator($"#jobs tr[data-job-id='{live}']").WaitForAsync();
        Assert.EndsWith("#/jobs?queue=q-admin-idle", page.Url, StringComparison.Ordinal);
        Assert.Equal(1, await page.Locator("#jobs tbody tr").CountAsync());

        // Detail with its attempts, then retry: the page follows the job to its new state.
        await page.GotoAsync($"/admin#/jobs/{failing}");
        await page.Locator("#detail-errors li .error").First.WaitForAsync();
        Assert.Equal("discarded", await page.Locator("dd[data-field='state']").TextContentAsync());
        await page.ClickAsync("#retry");
        await page.Locator("dd[data-field='state']", new() { HasTextString = "completed" }).WaitForAsync(new() { Timeout = 30_000 });
        Assert.Equal("2/2", await page.Locator("dd[data-field='attempts']").TextContentAsync());
        Assert.Equal("completed", await fixture.Db.StateAsync(failing));
        // Attempt 1 is no longer the latest: its worker comes from its own error entry.
        var workerId = fixture.Worker.Services.GetRequiredService<IOptions<JobWorkerOptions>>().Value.WorkerId;
        var attempt = await page.Locator("#detail-errors .meta").AllTextContentsAsync();
        Assert.Single(attempt);
        Assert.StartsWith("attempt 1 · ", attempt[0], StringComparison.Ordinal);
        Assert.EndsWith($"worker {workerId}", attempt[0], StringComparison.Ordinal);

        // Cancel from the page, reached with the keyboard from the list.
        await page.GotoAsync("/admin#/jobs?queue=q-admin-idle");
        await page.Locator($"#jobs tr[data-job-id='{live}'] a").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("dd[data-field='state']", new() { HasTextString = "available" }).WaitForAsync();
        await page.ClickAsync("#cancel");
        await page.Locator("dd[data-field='state']", new() { HasTextString = "cancelled" }).WaitForAsync();
        Assert.Equal("cancelled", await fixture.Db.StateAsync(live));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task Retry_all_and_cancel_all_confirm_the_count_and_move_exactly_the_listed_jobs()
    {
        // q-admin-bulk, which no Worker serves: cancelled and discarded jobs of two kinds.
        await fixture.Db.ExecuteAsync("""
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, finalized_at, errors)
            SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')), (CASE WHEN i % 4 = 0 THEN 'discarded' ELSE 'cancelled' END)::jobs.job_state,
                   'q-admin-bulk', CASE WHEN i % 3 = 0 THEN 'noop' ELSE 'fail' END, '{}', 5, 1, 1, now(), now(), now(), '[]'
            FROM generate_series(1, 600) AS i
            """);
        const string Listed = "queue = 'q-admin-bulk' AND state = 'cancelled' AND kind = 'fail'";
        var targets = await fixture.Db.ScalarAsync<long[]>($"SELECT array_agg(id) FROM jobs.job_history WHERE {Listed}");
        const string Others = "SELECT string_agg(id || state::text, ',' ORDER BY id) FROM jobs.job_all WHERE queue = 'q-admin-bulk' AND NOT (id = ANY ($1))";
        var others = await fixture.Db.ScalarAsync<string>(Others, targets);

        var errors = new List<string>();
        var page = await OpenAdminAsync(errors, "#/jobs?state=cancelled&queue=q-admin-bulk&kind=fail");
        await page.Locator("#jobs tbody tr").First.WaitForAsync();
        Assert.True(await page.IsHiddenAsync("#bulk-cancel"), "Cancel all is offered for cancelled jobs");
        Assert.True(await page.IsVisibleAsync("#bulk-retry"), "Retry all is not offered for cancelled jobs");

        // The confirmation states the count; keyboard: the button is focused and Enter opens it.
        await page.FocusAsync("#bulk-retry");
        await page.Keyboard.PressAsync("Enter");
        var question = page.Locator("#bulk-question");
        await question.WaitForAsync();
        Assert.Equal($"Retry {Int(targets.Length)} cancelled jobs where queue = q-admin-bulk, kind = fail?", await question.TextContentAsync());
        var folder = Path.Combine(WorkerProcess.RepositoryRoot(), "tests", "Api.Tests", "screenshots");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, "jobs-retry-all-confirmation.png") });
        await page.ClickAsync("#bulk-confirm");
        await page.Locator("#bulk-result", new() { HasTextString = $"{Int(targets.Length)} jobs retried." }).WaitForAsync();

        Assert.Equal(targets.Length, await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE id = ANY ($1) AND state = 'available'", targets));
        Assert.Equal(others, await fixture.Db.ScalarAsync<string>(Others, targets));
        await page.Locator("#jobs-summary", new() { HasTextString = "0 jobs shown" }).WaitForAsync();

        // Cancel all on the queue and kind: exactly the jobs just retried, the only live ones there.
        await page.GotoAsync("/admin#/jobs?queue=q-admin-bulk&kind=fail");
        await page.Locator("#jobs tbody tr").First.WaitForAsync();
        await page.ClickAsync("#bulk-cancel");
        await question.WaitForAsync();
        Assert.Equal($"Cancel {Int(targets.Length)} available, scheduled, retryable jobs where queue = q-admin-bulk, kind = fail?", await question.TextContentAsync());
        await page.ClickAsync("#bulk-keep");
        Assert.True(await page.IsHiddenAsync("#bulk-dialog"));
        Assert.Equal(targets.Length, await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE id = ANY ($1)", targets));
        await page.ClickAsync("#bulk-cancel");
        await page.ClickAsync("#bulk-confirm");
        await page.Locator("#bulk-result", new() { HasTextString = $"{Int(targets.Length)} jobs cancelled." }).WaitForAsync();
        Assert.Equal(targets.Length, await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_history WHERE id = ANY ($1) AND state = 'cancelled'", targets));
        Assert.Equal(others, await fixture.Db.ScalarAsync<string>(Others, targets));

        // Completed jobs have no bulk action: none is offered.
        await page.GotoAsync("/admin#/jobs?state=completed&queue=q-reports");
        await page.Locator("#jobs tbody tr").First.WaitForAsync();
        Assert.True(await page.IsHiddenAsync("#bulk-actions"));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task The_workflows_view_lists_workflows_with_progress_follows_one_to_completion_and_cancels_another()
    {
        // One the fixture's Worker runs once its queue is resumed (so the page sees it in progress
        // however slowly the browser opens), one nobody runs.
        await SetQueuePausedAsync("q-admin", paused: true);
        var runs = (await EnqueueWorkflowAsync("""
            {"name":"admin-runs","steps":[{"name":"first","kind":"sleep","queue":"q-admin","args":{"ms":500}},
                                          {"name":"second","kind":"sleep","queue":"q-admin","args":{"ms":500},"dependsOn":["first"]}]}
            """)).GetProperty("id").GetInt64();
        var waits = await EnqueueWorkflowAsync("""
            {"name":"admin-waits","steps":[{"name":"extract","kind":"noop","queue":"q-admin-wf"},
                                           {"name":"load","kind":"noop","queue":"q-admin-wf","dependsOn":["extract"]},
                                           {"name":"report","kind":"noop","queue":"q-admin-wf","dependsOn":["load"],"onDependencyFailure":"run"}]}
            """);
        var waitsId = waits.GetProperty("id").GetInt64();

        // The running one, opened by its link first: the page follows it to the end without a reload.
        var errors = new List<string>();
        IPage page;
        try
        {
            page = await OpenAdminAsync(errors, $"#/workflows/{runs}");
            await page.Locator("#workflow-steps tr[data-step='second']").WaitForAsync();
            await page.EvaluateAsync("() => window.sameDocument = true");
            Assert.Equal("in progress", await page.Locator("#workflow-state").TextContentAsync());
            Assert.Equal("first", await page.Locator("#workflow-steps tr[data-step='second'] td[data-field='dependsOn']").TextContentAsync());
        }
        finally
        {
            await SetQueuePausedAsync("q-admin", paused: false);
        }

        await page.Locator("#workflow-state", new() { HasTextString = "finished" }).WaitForAsync(new() { Timeout = 30_000 });
        Assert.Equal(["completed", "completed"], await page.Locator("#workflow-steps td[data-field='state']").AllTextContentsAsync());
        Assert.StartsWith("2 of 2 steps finished (completed 2)", await page.Locator("#workflow-progress").TextContentAsync(), StringComparison.Ordinal);
        Assert.True(await page.IsDisabledAsync("#workflow-cancel"));
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"));

        // The list: each workflow with its progress.
        await page.ClickAsync("nav a[data-view='workflows']");
        var row = page.Locator($"#workflows tr[data-workflow-id='{waitsId}']");
        await row.WaitForAsync();
        Assert.Equal("admin-waits", await row.Locator("td").Nth(1).TextContentAsync());
        Assert.Equal("0 / 3 finished", (await row.Locator("td[data-field='progress']").TextContentAsync())!.Trim());
        Assert.Equal("2", await row.Locator("td[data-field='pending']").TextContentAsync());
        Assert.Equal("1", await row.Locator("td[data-field='available']").TextContentAsync());
        Assert.Equal("2 / 2 finished", (await page.Locator($"#workflows tr[data-workflow-id='{runs}'] td[data-field='progress']").TextContentAsync())!.Trim());
        Assert.Equal("page", await page.GetAttributeAsync("nav a[data-view='workflows']", "aria-current"));

        // By name, from the form (Enter): only that workflow.
        await page.FillAsync("#filter-workflow-name", "admin-waits");
        await page.PressAsync("#filter-workflow-name", "Enter");
        await page.Locator("#workflows-summary", new() { HasTextString = "1 workflow shown" }).WaitForAsync();
        Assert.EndsWith("#/workflows?name=admin-waits", page.Url, StringComparison.Ordinal);

        // The waiting one, from the list: its steps with their dependencies, then cancelled from the page.
        await page.Locator($"#workflows tr[data-workflow-id='{waitsId}'] td").Nth(1).ClickAsync();
        await page.Locator("#workflow-steps tr[data-step='report']").WaitForAsync();
        Assert.Equal(["available", "pending", "pending"], await page.Locator("#workflow-steps td[data-field='state']").AllTextContentsAsync());
        Assert.Equal("load", await page.Locator("#workflow-steps tr[data-step='report'] td[data-field='dependsOn']").TextContentAsync());
        await page.ClickAsync("#workflow-cancel");
        Assert.Contains($"workflow {waitsId}", await page.Locator("#workflow-question").TextContentAsync(), StringComparison.Ordinal);
        await page.ClickAsync("#workflow-confirm");
        await page.Locator("#workflow-result", new() { HasTextString = "3 steps cancelled, 0 left running." }).WaitForAsync();
        await page.Locator("#workflow-state", new() { HasTextString = "finished" }).WaitForAsync();
        Assert.Equal(["cancelled", "cancelled", "cancelled"], await page.Locator("#workflow-steps td[data-field='state']").AllTextContentsAsync());
        foreach (var step in waits.GetProperty("steps").EnumerateArray())
        {
            Assert.Equal("cancelled", await fixture.Db.StateAsync(step.GetProperty("jobId").GetInt64()));
        }

        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task The_queues_view_shows_each_queue_with_its_counts_throughput_latency_and_limits()
    {
        var errors = new List<string>();
        var page = await OpenAdminAsync(errors, "#/queues");
        var stats = await FreshStatsAsync();
        var reports = page.Locator("#queues tr[data-queue='q-reports']");
        await reports.WaitForAsync();
        var cells = await reports.Locator("td").AllTextContentsAsync();
        for (var i = 0; i < States.Length; i++)
        {
            Assert.Equal(Int(Count(stats, "q-reports", States[i])), cells[1 + i]);
        }

        var hour = stats.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("queue").GetString() == "q-reports");
        var completed = hour.GetProperty("completedLastHour").GetInt64();
        var failed = hour.GetProperty("discardedLastHour").GetInt64();
        Assert.Equal(BrowserFixture.JobsPerQueue, completed + failed);
        Assert.Equal(Int(completed), cells[8]);
        Assert.Equal(Int(failed), cells[9]);
        Assert.Equal(((completed + failed) / 60.0).ToString("F1", CultureInfo.InvariantCulture), cells[10]);
        // The queue's own latency, as /stats gives it: the seed started each job (id % 11) x 37 ms
        // after it was due, so its median is about 185 ms and its p95 near the 370 ms top.
        var latency = hour.GetProperty("latencyMs");
        var p50 = latency.GetProperty("p50").GetDouble();
        var p95 = latency.GetProperty("p95").GetDouble();
        Assert.InRange(p50, 148, 222);
        Assert.InRange(p95, 333, 370);
        Assert.Equal($"{p50.ToString("F0", CultureInfo.InvariantCulture)} / {p95.ToString("F0", CultureInfo.InvariantCulture)} ms", cells[11]);
        Assert.Equal("none", cells[12]);
        Assert.Equal("none: jobs wait", cells[14]);

        var limited = await page.Locator("#queues tr[data-queue='q-admin'] td").AllTextContentsAsync();
        Assert.Equal("4", limited[12]);
        Assert.Equal("1000 / 1.0 s", limited[13]);
        Assert.Equal("1 live", limited[14]);

        // Pause from the page: every Worker's claim skips the queue (jobs.queue_pause), the row says
        // so, and Resume takes it back.
        var pauseCell = reports.Locator("td[data-field='pause']");
        await pauseCell.Locator("button", new() { HasTextString = "Pause" }).ClickAsync();
        await pauseCell.Locator("button", new() { HasTextString = "Resume" }).WaitForAsync();
        Assert.StartsWith("paused", await pauseCell.TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal(1L, await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.queue_pause WHERE queue = 'q-reports'"));
        var folder = Path.Combine(WorkerProcess.RepositoryRoot(), "tests", "Api.Tests", "screenshots");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, "queues-paused.png") });
        await pauseCell.Locator("button", new() { HasTextString = "Resume" }).ClickAsync();
        await pauseCell.Locator("button", new() { HasTextString = "Pause" }).WaitForAsync();
        Assert.Equal(0L, await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.queue_pause WHERE queue = 'q-reports'"));

        // A count links to that queue's jobs in that state.
        await reports.Locator("a", new() { HasTextString = Int(Count(stats, "q-reports", "discarded")) }).ClickAsync();
        await page.Locator("#jobs tbody tr").First.WaitForAsync();
        Assert.EndsWith("#/jobs?state=discarded&queue=q-reports", page.Url, StringComparison.Ordinal);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task The_schedules_view_pauses_a_schedule_and_runs_one_now_outside_its_instants()
    {
        var options = new JobEngine.Running.JobWorkerOptions();
        options.Schedules["nightly-report"] = new JobEngine.Scheduling.ScheduleOptions { Cron = "0 3 * * *", TimeZone = "Europe/Paris", Kind = "noop", Queue = "q-admin", Args = """{"report":"daily"}""" };
        await new JobEngine.Scheduling.JobScheduler(fixture.Db.App, new JobEngine.JobClient(fixture.Db.App), Microsoft.Extensions.Options.Options.Create(options),
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<JobEngine.Scheduling.JobScheduler>.Instance).UpsertAsync(CancellationToken.None);

        var errors = new List<string>();
        var page = await OpenAdminAsync(errors, "#/schedules");
        var schedule = page.Locator("#schedules tr[data-schedule='nightly-report']");
        await schedule.WaitForAsync();
        Assert.Contains("Europe/Paris", await schedule.TextContentAsync(), StringComparison.Ordinal);

        await schedule.Locator("button", new() { HasTextString = "Pause" }).ClickAsync();
        await page.Locator("#schedules tr[data-schedule='nightly-report'] button", new() { HasTextString = "Resume" }).WaitForAsync();
        Assert.True(await fixture.Db.ScalarAsync<bool>("SELECT paused FROM jobs.schedule WHERE name = 'nightly-report'"));

        // Run now, even paused: one job of the schedule's kind, arguments and queue, linked from the view.
        await page.Locator("#schedules tr[data-schedule='nightly-report'] button", new() { HasTextString = "Run now" }).ClickAsync();
        var jobLink = page.Locator("#schedule-run a");
        await jobLink.WaitForAsync();
        var jobId = long.Parse((await jobLink.TextContentAsync())!, CultureInfo.InvariantCulture);
        Assert.Equal("noop", await fixture.Db.ScalarAsync<string>("SELECT kind FROM jobs.job_all WHERE id = $1", jobId));
        Assert.Equal("daily", await fixture.Db.ScalarAsync<string>("SELECT args ->> 'report' FROM jobs.job_all WHERE id = $1", jobId));
        Assert.Equal("q-admin", await fixture.Db.ScalarAsync<string>("SELECT queue FROM jobs.job_all WHERE id = $1", jobId));
        // Not an instant: schedule_run and the schedule's last instant are untouched.
        Assert.Equal(0L, await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM jobs.schedule_run WHERE schedule_name = 'nightly-report'"));
        Assert.True(await fixture.Db.ScalarAsync<bool>("SELECT last_instant IS NULL FROM jobs.schedule WHERE name = 'nightly-report'"));
        // The job opened by its address, as a pasted link would.
        await page.GotoAsync($"/admin#/jobs/{jobId}");
        await page.Locator("dd[data-field='state']", new() { HasTextString = "completed" }).WaitForAsync(new() { Timeout = 30_000 });

        // The endpoint itself: 201 with the job, 404 for an unknown name.
        var created = await fixture.Admin.PostAsync("/schedules/nightly-report/run", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var second = (await created.BodyAsync()).GetProperty("jobId").GetInt64();
        Assert.True(second > jobId);
        Assert.Equal($"/jobs/{second}", created.Headers.Location!.ToString());
        var missing = await fixture.Admin.PostAsync("/schedules/no-such-schedule/run", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("name", (await missing.BodyAsync()).GetProperty("field").GetString());
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task The_database_view_shows_its_figures_with_thresholds()
    {
        var errors = new List<string>();
        var page = await OpenAdminAsync(errors, "#/database");
        await page.Locator("#db-indexes td", new() { HasTextString = "job_claim_idx" }).WaitForAsync();
        Assert.Contains("Red when", await page.Locator("#thresholds").TextContentAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("#db-tables tbody tr").CountAsync() >= 1);
        Assert.True(await page.Locator("#db-connections tbody tr").CountAsync() >= 1);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task User_text_renders_as_text_under_a_strict_csp()
    {
        const string script = "<script>window.pwned = 1</script>";
        const string image = "<img src=x onerror=\"window.pwned = 2\">";
        await fixture.Db.ExecuteAsync("INSERT INTO jobs.kind (kind, worker) VALUES ($1, 'test')", image);
        var id = await EnqueueAsync(JsonSerializer.Serialize(new { kind = image, queue = "q-admin-xss", args = new { note = script } }));
        // The error of a failed attempt, as a handler that threw this message would have left it.
        await fixture.Db.ExecuteAsync("""
            UPDATE jobs.job SET attempt = 1, max_attempts = 1,
                errors = jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now(), 'type', 'Boom', 'message', $2::text))
            WHERE id = $1
            """, id, script);
        await fixture.Db.FinalizeAsync([id], "discarded");

        var errors = new List<string>();
        var page = await OpenAdminAsync(errors);
        var row = page.Locator($"#failures tr[data-job-id='{id}']");
        await row.WaitForAsync();
        Assert.Equal(script, await row.Locator("td.error").TextContentAsync());
        Assert.Equal(image, await row.Locator("td").Nth(2).TextContentAsync());
        await row.ClickAsync();
        await page.Locator("#detail-errors li .error").First.WaitForAsync();
        Assert.Contains(script, await page.Locator("#detail-errors").TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("window.pwned = 1", await page.Locator("#detail-args").TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("main script, main img").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => window.pwned === undefined"));

        var response = await fixture.Admin.GetAsync("/admin");
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Equal(Api.Http.SecurityHeaders.AdminPolicy, csp);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    /// <summary>
    /// Every section at a desktop and a phone width, in light and dark mode, saved under
    /// tests/Api.Tests/screenshots/ for a person to look at; the page never scrolls sideways as a whole.
    /// </summary>
    [Theory]
    [InlineData(1280, 900, "light")]
    [InlineData(1280, 900, "dark")]
    [InlineData(375, 812, "light")]
    [InlineData(375, 812, "dark")]
    public async Task Every_section_renders_at_desktop_and_phone_width_in_both_color_schemes(int width, int height, string scheme)
    {
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = scheme == "dark" ? ColorScheme.Dark : ColorScheme.Light,
        });
        var errors = new List<string>();
        var page = await OpenAdminAsync(errors, "", context);
        var folder = Path.Combine(WorkerProcess.RepositoryRoot(), "tests", "Api.Tests", "screenshots");
        Directory.CreateDirectory(folder);
        (string Name, string Hash, string Ready)[] sections =
        [
            ("overview", "#/", "#chart circle.point"),
            ("jobs", "#/jobs?state=discarded&queue=q-reports", "#jobs tbody tr"),
            ("job", $"#/jobs/{fixture.FailedWithTrace}", "#detail-errors li .error"),
            ("workflows", "#/workflows", $"#workflows tr[data-workflow-id='{fixture.SeededWorkflow}']"),
            ("workflow", $"#/workflows/{fixture.SeededWorkflow}", "#workflow-steps tr[data-step='report']"),
            ("queues", "#/queues", "#queues tr[data-queue='q-reports']"),
            ("schedules", "#/schedules", "#schedules tbody tr"),
            ("database", "#/database", "#db-indexes tbody tr"),
        ];
        foreach (var (name, hash, ready) in sections)
        {
            await page.GotoAsync("/admin" + hash);
            await page.Locator(ready).First.WaitForAsync();
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"{name} scrolls sideways at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"{name}-{width}-{scheme}.png"), FullPage = true });
            if (name == "queues" && width >= 1280)
            {
                // At a desktop width every column of the queues table is in view, none scrolled out of its box.
                Assert.True(await page.EvaluateAsync<bool>("() => { const box = document.querySelector('#queues').parentElement; return box.scrollWidth <= box.clientWidth; }"),
                    $"the queues table is wider than its box at {width} px");
            }
        }

        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
