using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using JobEngine.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace AppHost.Tests;

/// <summary>
/// The whole application as `dotnet run --project AppHost` starts it, walked through its life in
/// order on one shared instance: up and healthy, least privilege, a job end to end, the
/// dashboard, a crash and a deliberate stop, and finally the stop of everything.
/// </summary>
[TestCaseOrderer(ByOrder.Name, ByOrder.Assembly)]
public sealed class StackTests(StackFixture stack, ITestOutputHelper output) : IClassFixture<StackFixture>
{
    [Fact, Order(1)]
    public async Task Every_resource_runs_and_is_healthy_and_the_migrator_exited_with_0()
    {
        output.WriteLine($"whole stack healthy {stack.StartedIn.TotalSeconds:F1} s after start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        foreach (var name in new[] { "postgres", "cache", "api" })
        {
            await stack.App.ResourceNotifications.WaitForResourceHealthyAsync(name, timeout.Token);
        }

        var migrator = Assert.Single(stack.Instances("migrator"));
        Assert.Equal(KnownResourceStates.Finished, migrator.Snapshot.State?.Text);
        Assert.Equal(0, migrator.Snapshot.ExitCode);
        var workers = await stack.WaitForWorkersHealthyAsync(2);
        Assert.All(workers, w => Assert.Contains(w.Snapshot.HealthReports, r => r.Name == "replica_http" && r.Status == HealthStatus.Healthy));
        Assert.Equal(2, workers.Select(w => w.ResourceId).Distinct().Count());
    }

    [Fact, Order(2)]
    public async Task The_api_and_the_workers_get_the_least_privileged_connection_and_no_owner_password()
    {
        var ownerPassword = await ((ParameterResource)stack.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "postgres-password")).GetValueAsync(default);
        Assert.False(string.IsNullOrEmpty(ownerPassword));
        var migrator = Assert.Single(stack.Instances("migrator"));
        Assert.Contains(migrator.Snapshot.EnvironmentVariables, v => v.Name == "ConnectionStrings__jobsdb" && v.Value!.Contains(ownerPassword!, StringComparison.Ordinal));

        var services = stack.Instances("api").Concat(stack.Instances("worker")).ToList();
        Assert.Equal(3, services.Count);
        foreach (var service in services)
        {
            var environment = service.Snapshot.EnvironmentVariables;
            Assert.Contains(environment, v => v.Name == "ConnectionStrings__jobsdb" && v.Value!.Contains("Username=jobs_app", StringComparison.Ordinal));
            Assert.DoesNotContain(environment, v => v.Value?.Contains(ownerPassword!, StringComparison.Ordinal) == true);
            Assert.DoesNotContain(environment, v => v.Name == "Migrator__AppRolePassword");

            // The process itself, not only what the model says it was given.
            var process = File.ReadAllText($"/proc/{StackFixture.ServiceProcessOf(service)}/environ");
            Assert.DoesNotContain(ownerPassword!, process, StringComparison.Ordinal);
        }
    }

    [Fact, Order(3)]
    public async Task A_job_posted_through_the_api_completes_in_a_worker_replica()
    {
        using var http = stack.App.CreateHttpClient("api");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack.AdminKey);
        using var response = await http.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { } });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /jobs answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var job = await Eventually.WaitForAsync(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}");
            request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
            using var read = await http.SendAsync(request);
            return await read.Content.ReadFromJsonAsync<JsonElement>();
        }, j => j.GetProperty("state").GetString() == "completed", $"job {id} completed");

        // attempted_by is host:pid:suffix; the pid is one of the Worker replicas' processes.
        var pid = int.Parse(job.GetProperty("attemptedBy").GetString()!.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(pid, stack.Instances("worker").Select(StackFixture.ServiceProcessOf));
    }

    [Fact, Order(4)]
    public async Task The_dashboard_lists_every_resource_running_or_finished_and_shows_the_trace_of_a_posted_job()
    {
        await using var dashboard = await DashboardPage.LogInAsync(stack.Dashboard, stack.BrowserToken);
        var page = dashboard.Page;

        // Resources: each instance by the name the dashboard shows, with its state on its row.
        var expected = new Dictionary<string, string>
        {
            ["postgres"] = "Running",
            ["cache"] = "Running",
            ["migrator"] = "Finished",
            ["postgres-init"] = "Finished",
            ["api"] = "Running",
        };
        foreach (var worker in stack.Instances("worker"))
        {
            expected[worker.ResourceId] = "Running";
        }

        try
        {
            await dashboard.WaitForTextAsync("postgres-init", output.WriteLine);
            foreach (var (name, state) in expected)
            {
                var row = page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByText(name, new() { Exact = true }) });
                await Assertions.Expect(row.First).ToContainTextAsync(state);
            }
        }
        finally
        {
            output.WriteLine("screenshot: " + await dashboard.ScreenshotAsync("dashboard-resources"));
        }

        // A job posted now, and its trace: the request in the Api, the insert beneath it, the run in a Worker.
        using var http = stack.App.CreateHttpClient("api");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack.AdminKey);
        // Our own trace id on the request, so the row is this request's and not an earlier test's POST.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var post = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = JsonContent.Create(new { kind = "noop", args = new { } }) };
        post.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await page.GotoAsync(new Uri(stack.Dashboard, "/traces").ToString());
        try
        {
            // The search box's own input (the Fluent element wrapping it answers to the same placeholder).
            await page.Locator("input[name='traces-search']").First.FillAsync("POST /jobs");
            // The list shows a trace by its id's first seven digits.
            var trace = page.GetByRole(AriaRole.Row).Filter(new() { HasText = traceId[..7] }).GetByText("api: POST /jobs");
            await trace.ClickAsync();
            await Assertions.Expect(page.GetByText("job noop").First).ToBeVisibleAsync();
            // The Api's INSERT, as Npgsql names its spans: after the database system.
            await Assertions.Expect(page.GetByRole(AriaRole.Gridcell, new() { Name = "api: postgresql" }).First).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByText("worker").First).ToBeVisibleAsync();
        }
        finally
        {
            output.WriteLine("screenshot: " + await dashboard.ScreenshotAsync("dashboard-trace-post-jobs"));
        }
    }

    [Fact, Order(5)]
    public async Task A_killed_worker_replica_is_started_again_and_one_stopped_on_purpose_stays_stopped()
    {
        var workers = await stack.WaitForWorkersHealthyAsync(2);
        var (crashing, stopped) = (workers[0], workers[1]);

        // A deliberate stop, as the dashboard's Stop button does it.
        var commands = stack.App.Services.GetRequiredService<ResourceCommandService>();
        Assert.True((await commands.ExecuteCommandAsync(stopped.ResourceId, KnownResourceCommands.StopCommand)).Success);
        await Eventually.WaitForAsync(() => Task.FromResult(stack.Latest[stopped.ResourceId].Snapshot.State?.Text), s => KnownResourceStates.TerminalStates.Contains(s), $"{stopped.ResourceId} stopped");

        // A crash: the replica's process killed outright.
        var pid = StackFixture.ServiceProcessOf(crashing);
        var clock = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill();
        await Eventually.WaitForAsync(() => Task.FromResult(stack.Latest[crashing.ResourceId].Snapshot), s => s.State?.Text != KnownResourceStates.Running || s.ExitCode is not null, $"{crashing.ResourceId} seen dead", TimeSpan.FromSeconds(30));
        var back = await Eventually.WaitForAsync(
            () => Task.FromResult(stack.Latest[crashing.ResourceId].Snapshot),
            s => s.State?.Text == KnownResourceStates.Running && s.HealthStatus == HealthStatus.Healthy && ProcessTable.ChildrenOf(WrapperPid(s)).Count > 0 && !ProcessTable.IsAlive(pid),
            $"{crashing.ResourceId} running and healthy again", TimeSpan.FromMinutes(2));
        output.WriteLine($"killed worker replica back and healthy in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.NotEqual(pid, StackFixture.ServiceProcessOf(stack.Latest[crashing.ResourceId]));

        // The crash was handled after the stop; the stopped replica was left as it was.
        Assert.Contains(stack.Latest[stopped.ResourceId].Snapshot.State?.Text, KnownResourceStates.TerminalStates);
        Assert.True((await commands.ExecuteCommandAsync(stopped.ResourceId, KnownResourceCommands.StartCommand)).Success);
        await stack.WaitForWorkersHealthyAsync(2);
        _ = back;
    }

    [Fact, Order(9)]
    public async Task Stopping_the_application_leaves_no_process_and_postgresql_shut_down_cleanly()
    {
        var running = ProcessTable.WithEnvironment(StackFixture.MarkerVariable, stack.Marker);
        Assert.Contains(running, p => p.Command.Contains("postgres -D", StringComparison.Ordinal));
        Assert.Contains(running, p => p.Command.Contains("/Worker", StringComparison.Ordinal));
        Assert.Contains(running, p => p.Command.Contains("/Api", StringComparison.Ordinal));

        await stack.App.StopAsync();

        var left = await Eventually.WaitForAsync(
            () => Task.FromResult(string.Join("; ", ProcessTable.WithEnvironment(StackFixture.MarkerVariable, stack.Marker).Select(p => $"{p.Pid} {p.Command}"))),
            p => p.Length == 0, "every process of the application to be gone", TimeSpan.FromSeconds(90));
        Assert.Empty(left);
        var control = Process.Start(new ProcessStartInfo("bash", ["-c", $"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_controldata {stack.DataDirectory}/postgres/data"]) { RedirectStandardOutput = true })!;
        var state = await control.StandardOutput.ReadToEndAsync();
        await control.WaitForExitAsync();
        Assert.Contains("Database cluster state:               shut down", state, StringComparison.Ordinal);
    }

    private static int WrapperPid(CustomResourceSnapshot snapshot) =>
        Convert.ToInt32(snapshot.Properties.Single(p => p.Name == "executable.pid").Value, System.Globalization.CultureInfo.InvariantCulture);
}
