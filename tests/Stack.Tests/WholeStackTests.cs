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
    public async Task Run_script_starts_the_stack_delivers_a_signed_webhook_and_leaves_nothing_running_after_sigterm()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var stack = RunScript.Start(workers: 2);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        var api = new Uri($"http://127.0.0.1:{stack.ApiPort}");
        foreach (var health in new[] { new Uri(api, "/health"), new($"http://127.0.0.1:{stack.WorkerBasePort + 1}/health"), new($"http://127.0.0.1:{stack.WorkerBasePort + 2}/health") })
        {
            await Eventually.WaitForAsync(() => StatusOfAsync(http, health, stack), s => s.StartsWith("200", StringComparison.Ordinal) && s.Contains("Healthy", StringComparison.Ordinal), $"{health} healthy; run.sh said:\n{stack.Output}", TimeSpan.FromSeconds(180));
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
        Assert.Equal(2, running.Count(p => p.Command.Contains("Worker.dll", StringComparison.Ordinal)));
        Assert.Single(running, p => p.Command.Contains("Api.dll", StringComparison.Ordinal));
        Assert.Contains(running, p => p.Command.Contains("postgres", StringComparison.Ordinal));
        Assert.Contains(running, p => p.Command.Contains("redis-server", StringComparison.Ordinal));

        stack.Terminate();
        await stack.WaitForExitAsync(TimeSpan.FromSeconds(90));

        var left = await Eventually.WaitForAsync(() => Task.FromResult(stack.Processes()), p => p.Count == 0, "every process of the run to be gone", TimeSpan.FromSeconds(30));
        Assert.Empty(left);
        Assert.Contains("[run] stopped", stack.Output, StringComparison.Ordinal);
        Assert.Contains("[worker-1]", stack.Output, StringComparison.Ordinal);
        Assert.Contains("[migrator]", stack.Output, StringComparison.Ordinal);
        Assert.Contains("[api]", stack.Output, StringComparison.Ordinal);
        Assert.Contains($"admin page:    http://127.0.0.1:{stack.ApiPort}/admin", stack.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(stack.AdminKey, stack.Output, StringComparison.Ordinal);
    }

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
