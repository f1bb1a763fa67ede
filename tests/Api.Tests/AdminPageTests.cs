using System.Net;
using System.Net.Http.Headers;
using JobEngine.Tests;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Api.Tests;

/// <summary>
/// The Api on a real loopback port (Kestrel), a Worker running its jobs, and Debian's Chromium
/// driven by Playwright: the admin page as an operator's browser sees it.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public TestDatabase Db { get; } = new();
    public ApiFactory Factory { get; private set; } = null!;
    public TestWorker Worker { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Db.InitializeAsync();
        Factory = new ApiFactory(ApiFactory.Settings(Db));
        Factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        Factory.StartServer();
        var address = Factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Admin = new HttpClient { BaseAddress = BaseAddress };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.Admin);
        Worker = await TestWorker.StartAsync(Db, new() { ["Queues:q-admin"] = "4" });

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
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
    private async Task<IPage> OpenAdminAsync(List<string> consoleErrors)
    {
        var page = await fixture.Browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = fixture.BaseAddress.ToString() });
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add(message.Text);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                consoleErrors.Add($"{response.Status} {response.Url}");
            }
        };
        var response = await page.GotoAsync("/admin");
        Assert.Equal(200, response!.Status);
        await page.FillAsync("#key", TestKeys.Admin);
        await page.ClickAsync("#key-form button[type=submit]");
        await page.WaitForSelectorAsync("#queues tbody tr");
        return page;
    }

    private async Task<long> EnqueueAsync(string json)
    {
        var response = await fixture.Admin.PostAsync("/jobs", Http.Json(json));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.BodyAsync()).GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task The_page_lists_an_enqueued_job_and_retries_a_discarded_one_to_completion()
    {
        var live = await EnqueueAsync("""{"kind":"sleep","queue":"q-admin-idle","args":{"ms":1}}""");
        var failing = await EnqueueAsync("""{"kind":"fail","queue":"q-admin","args":{"untilAttempt":2},"maxAttempts":1}""");
        await fixture.Db.WaitForStateAsync(failing, "discarded");

        var errors = new List<string>();
        var page = await OpenAdminAsync(errors);

        // Listed: the job enqueued over the API, and the discarded one among recent failures with its error.
        await page.Locator($"#jobs tr[data-job-id='{live}']").WaitForAsync();
        var failure = page.Locator($"#failures tr[data-job-id='{failing}']");
        await failure.WaitForAsync();
        Assert.Contains("attempt 1", await failure.Locator("td.error").TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("q-admin", await page.Locator("#queues").TextContentAsync(), StringComparison.Ordinal);

        // Filter by queue: only that queue's jobs remain.
        await page.FillAsync("#filter-queue", "q-admin-idle");
        await page.ClickAsync("#filter button[type=submit]");
        await page.Locator($"#jobs tr[data-job-id='{failing}']").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        Assert.Equal(1, await page.Locator("#jobs tbody tr").CountAsync());

        // Detail with its attempts, then retry: the page follows the job to its new state.
        await failure.ClickAsync();
        await page.Locator("#detail-errors li").First.WaitForAsync();
        Assert.Equal("discarded", await page.Locator("dd[data-field='state']").TextContentAsync());
        await page.ClickAsync("#retry");
        await page.Locator("dd[data-field='state']", new() { HasTextString = "completed" }).WaitForAsync(new() { Timeout = 30_000 });
        Assert.Equal("2/2", await page.Locator("dd[data-field='attempts']").TextContentAsync());
        Assert.Equal("completed", await fixture.Db.StateAsync(failing));

        // Cancel from the page.
        await page.Locator($"#jobs tr[data-job-id='{live}']").ClickAsync();
        await page.Locator("dd[data-field='state']", new() { HasTextString = "available" }).WaitForAsync();
        await page.ClickAsync("#cancel");
        await page.Locator("dd[data-field='state']", new() { HasTextString = "cancelled" }).WaitForAsync();
        Assert.Equal("cancelled", await fixture.Db.StateAsync(live));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task User_text_renders_as_text_under_a_strict_csp()
    {
        const string script = "<script>window.pwned = 1</script>";
        const string image = "<img src=x onerror=\"window.pwned = 2\">";
        await fixture.Db.ExecuteAsync("INSERT INTO jobs.kind (kind, worker) VALUES ($1, 'test')", image);
        var id = await EnqueueAsync(System.Text.Json.JsonSerializer.Serialize(new { kind = image, queue = "q-admin-xss", args = new { note = script } }));
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
        await page.Locator("#detail-errors li").First.WaitForAsync();
        Assert.Contains(script, await page.Locator("#detail-errors").TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("window.pwned = 1", await page.Locator("#detail-args").TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#failures script, #failures img, #detail script, #detail img").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => window.pwned === undefined"));

        var response = await fixture.Admin.GetAsync("/admin");
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Equal(Api.Http.SecurityHeaders.AdminPolicy, csp);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
    [Fact]
    public async Task The_schedules_and_database_views_show_their_figures_and_a_schedule_pauses_from_the_page()
    {
        var options = new JobEngine.Running.JobWorkerOptions();
        options.Schedules["page-demo"] = new JobEngine.Scheduling.ScheduleOptions { Cron = "0 3 * * *", TimeZone = "Europe/Paris", Kind = "noop", Queue = "q-admin-idle" };
        await new JobEngine.Running.JobScheduler(fixture.Db.App, new JobEngine.JobClient(fixture.Db.App), Microsoft.Extensions.Options.Options.Create(options),
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<JobEngine.Running.JobScheduler>.Instance).UpsertAsync(CancellationToken.None);
        await EnqueueAsync("""{"kind":"noop","queue":"q-admin-schedules"}""");

        var errors = new List<string>();
        var page = await OpenAdminAsync(errors);

        var schedule = page.Locator("#schedules tr[data-schedule='page-demo']");
        await schedule.WaitForAsync();
        Assert.Contains("Europe/Paris", await schedule.TextContentAsync(), StringComparison.Ordinal);
        await schedule.Locator("button", new() { HasTextString = "Pause" }).ClickAsync();
        await page.Locator("#schedules tr[data-schedule='page-demo'] button", new() { HasTextString = "Resume" }).WaitForAsync();
        Assert.True(await fixture.Db.ScalarAsync<bool>("SELECT paused FROM jobs.schedule WHERE name = 'page-demo'"));

        await page.ClickAsync("#load-database");
        await page.Locator("#db-indexes td", new() { HasTextString = "job_runnable_idx" }).WaitForAsync();
        Assert.Contains("Red when", await page.Locator("#thresholds").TextContentAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("#db-tables tbody tr").CountAsync() >= 1);
        Assert.True(await page.Locator("#db-connections tbody tr").CountAsync() >= 1);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
