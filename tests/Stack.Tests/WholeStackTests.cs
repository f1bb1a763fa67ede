using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JobEngine;
using JobEngine.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Npgsql;

namespace Stack.Tests;

/// <summary>The whole stack as ./run.sh starts it: infrastructure, Migrator, Api, Workers; then stopped with nothing left.</summary>
public sealed class WholeStackTests
{
    [Fact]
    public async Task Run_script_starts_the_stack_delivers_a_signed_webhook_exports_over_otlp_and_leaves_nothing_running_after_sigterm()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var otlp = await OtlpReceiver.StartAsync();
        await using var stack = RunScript.Start(workers: 2, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment=run-test",
        });
        // The first POST /jobs is sent once, to an Api that just started: on two loaded cores its
        // cold path (JIT, the first Redis and PostgreSQL round trips) was seen to take over 5 s.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var api = new Uri($"http://127.0.0.1:{stack.ApiPort}");
        await Eventually.WaitForAsync(() => StatusOfAsync(http, new Uri(api, "/health"), stack), s => s.StartsWith("200", StringComparison.Ordinal) && s.Contains("Healthy", StringComparison.Ordinal), "the Api healthy", TimeSpan.FromSeconds(600));

        // Each Worker replica answers at its own address (its ASPNETCORE_URLS), not only through the proxy.
        // Healthy means registered (the worker-registration check), so the Api then accepts the kind.
        var workerProcesses = await Eventually.WaitForAsync(() => Task.FromResult(ServiceProcesses(stack, "Worker")), w => w.Count == 2, "two Worker processes", TimeSpan.FromSeconds(300));
        foreach (var worker in workerProcesses)
        {
            var health = new Uri(new Uri(RunScript.EnvironmentOf(worker)["ASPNETCORE_URLS"].Split(';')[0]), "/health");
            await Eventually.WaitForAsync(() => StatusOfAsync(http, health, stack), s => s.StartsWith("200", StringComparison.Ordinal) && s.Contains("Healthy", StringComparison.Ordinal), $"{health} healthy", TimeSpan.FromSeconds(120));
        }

        var environment = stack.StackEnvironment();
        var secret = environment["Webhooks__SigningSecret"];
        await using (var dataSource = NpgsqlDataSource.Create(environment["ConnectionStrings__jobsdb"]))
        {
            var client = new JobClient(dataSource);
            using var enqueue = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "/jobs"))
            {
                Content = JsonContent.Create(new { kind = "webhook", args = new { url = receiver.Url, payload = new { order = 42, note = "signed" } } }),
            };
            enqueue.Headers.Authorization = new AuthenticationHeaderValue("Bearer", stack.AdminKey);
            using var response = await http.SendAsync(enqueue);
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /jobs answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            var job = (await client.GetAsync((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64()))!;
            Assert.Equal(new Uri($"/jobs/{job.Id}", UriKind.Relative), response.Headers.Location);

            var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(delivery.Timestamp + "." + delivery.Body)));
            Assert.Equal(expected, delivery.Signature);
            Assert.Contains("\"order\":42", delivery.Body, StringComparison.Ordinal);
            Assert.Equal(job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), delivery.JobId);
            await Eventually.WaitForAsync(async () => (await client.GetAsync(job.Id))!.State, s => s == JobState.Completed, $"job {job.Id} completed");
        }

        var running = stack.Processes();
        var workers = ServiceProcesses(stack, "Worker").Select(RunScript.EnvironmentOf).ToList();
        var apiProcess = RunScript.EnvironmentOf(Assert.Single(ServiceProcesses(stack, "Api")));
        Assert.Equal(2, workers.Count);
        AssertInjected(apiProcess, "api", ("Api__Keys__admin__Scope", "admin"), ("Api__Keys__admin__Hash", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(stack.AdminKey)))));
        Assert.StartsWith(environment["ConnectionStrings__cache"], apiProcess["ConnectionStrings__cache"], StringComparison.Ordinal);
        var instances = workers.Select(w => w["OTEL_RESOURCE_ATTRIBUTES"].Split("service.instance.id=")[1]).ToList();
        Assert.Equal(2, instances.Distinct().Count());
        Assert.All(workers, w => AssertInjected(w, "worker", ("Webhooks__SigningSecret", secret)));

        // Every service exported its three signals to the endpoint it was given, and no secret with them.
        foreach (var (signal, names) in new[]
        {
            ("traces", new[] { "POST /jobs", "job webhook", "service.instance.id", instances[0], "api" }),
            ("metrics", new[] { "job.queue.depth", "job.completed", "http.server.request.duration", "db.client.operation.duration" }),
            ("logs", new[] { instances[1], "Now listening on" }),
        })
        {
            await Eventually.WaitForAsync(() => Task.FromResult(otlp.Which(signal, names)), found => !found.Contains(": no", StringComparison.Ordinal), $"{signal} exported over OTLP");
        }

        var exported = otlp.Text("traces") + otlp.Text("metrics") + otlp.Text("logs");
        foreach (var leaked in new[] { stack.AdminKey, secret, environment["Migrator__AppRolePassword"], environment["PGPASSWORD"] })
        {
            Assert.DoesNotContain(leaked, exported, StringComparison.Ordinal);
        }
        Assert.Contains(running, p => p.Command.Contains("postgres", StringComparison.Ordinal));
        Assert.Contains(running, p => p.Command.Contains("redis-server", StringComparison.Ordinal));

        stack.Terminate();
        await stack.WaitForExitAsync(TimeSpan.FromSeconds(90));

        var left = await Eventually.WaitForAsync(() => Task.FromResult(stack.Processes()), p => p.Count == 0, "every process of the run to be gone", TimeSpan.FromSeconds(30));
        Assert.Empty(left);
        Assert.Contains("[run] stopped", stack.Output, StringComparison.Ordinal);
        Assert.Contains("[run] dashboard:     http://127.0.0.1:", stack.Output, StringComparison.Ordinal);
        Assert.Contains("Login to the dashboard at http://127.0.0.1:", stack.Output, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL and Redis run as", stack.Output, StringComparison.Ordinal);
        Assert.Contains($"admin page:    http://127.0.0.1:{stack.ApiPort}/admin", stack.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(stack.AdminKey, stack.Output, StringComparison.Ordinal);
    }

    // What the AppHost injects, and nothing of the stack's secrets a service does not need.
    private static void AssertInjected(IReadOnlyDictionary<string, string> process, string service, params (string Name, string Value)[] own)
    {
        Assert.Equal(service, process["OTEL_SERVICE_NAME"]);
        Assert.StartsWith("deployment.environment=run-test,service.instance.id=", process["OTEL_RESOURCE_ATTRIBUTES"], StringComparison.Ordinal);
        Assert.Equal("500", process["OTEL_METRIC_EXPORT_INTERVAL"]);
        Assert.Contains("Username=jobs_app", process["ConnectionStrings__jobsdb"], StringComparison.Ordinal);
        foreach (var (name, value) in own)
        {
            Assert.Equal(value, process[name]);
        }

        Assert.DoesNotContain("JOBS_OWNER_CONNECTION", process.Keys);
        Assert.DoesNotContain("PGPASSWORD", process.Keys);
        Assert.DoesNotContain("Migrator__AppRolePassword", process.Keys);
    }

    // The services' own processes (their apphost executables), not the `dotnet run` wrappers Aspire starts them with.
    private static List<int> ServiceProcesses(RunScript stack, string name) =>
        stack.Processes().Where(p => Path.GetFileName(p.Command.Split(' ')[0]) == name).Select(p => p.Pid).ToList();

    private static async Task<string> StatusOfAsync(HttpClient http, Uri health, RunScript stack)
    {
        if (stack.HasExited)
        {
            throw new InvalidOperationException("run.sh exited early:\n" + stack.Output);
        }

        try
        {
            using var response = await http.GetAsync(health);
            return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return e.GetType().Name;
        }
    }
}

/// <summary>What a webhook receiver got: the signed headers and the raw body.</summary>
public sealed record WebhookDelivery(string? Signature, string? Timestamp, string? JobId, string Body);

/// <summary>A real HTTP endpoint on loopback that records the first delivery it receives.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app) => _app = app;

    public TaskCompletionSource<WebhookDelivery> Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Url => _app.Urls.First() + "/hook";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            receiver.Delivered.TrySetResult(new(request.Headers["X-Webhook-Signature"], request.Headers["X-Webhook-Timestamp"], request.Headers["X-Webhook-Id"], body));
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
