using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Reliability.Tests;

/// <summary>
/// The Api process while its PostgreSQL stops and comes back: requests fail with 503 and a
/// ProblemDetails saying a retry is safe, succeed again soon after the database returns, and no
/// job is half-written: the table holds exactly the jobs the Api answered 201 for.
/// </summary>
[Collection(ChaosStackCollection.Name)]
public sealed class ApiRestartTests(ITestOutputHelper output)
{
    private const string AdminKey = "restart-test-admin-key-0123456789";

    [Fact]
    public async Task While_postgres_is_down_the_api_answers_503_retryable_and_recovers_when_it_returns_with_nothing_half_written()
    {
        await using var stack = await ChaosStack.StartAsync();
        using var log = new StringWriter();
        var (owner, app) = await stack.CreateDatabaseAsync("api_restart", log);
        var url = $"http://127.0.0.1:{FreePort()}";
        using var api = WorkerProcess.StartApi(app, url, new Dictionary<string, string>
        {
            ["Api__Keys__admin__Hash"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey))),
            ["Api__Keys__admin__Scope"] = "admin",
            ["Api__Kinds__0"] = "noop",
        }, log);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        await Eventually.WaitForAsync(() => StatusAsync(http), s => s == HttpStatusCode.Created, "the Api to enqueue a first job");
        var created = 1;

        await stack.StopPostgresAsync();
        using var down = await EnqueueAsync(http);
        var problem = JsonSerializer.Deserialize<JsonElement>(await down.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("application/problem+json", down.Content.Headers.ContentType?.MediaType);
        Assert.True(problem.GetProperty("retryable").GetBoolean());

        await stack.StartPostgresAsync();
        var back = Stopwatch.StartNew();
        await Eventually.WaitForAsync(() => StatusAsync(http), s => s == HttpStatusCode.Created, "the Api to enqueue again after PostgreSQL returned");
        created++;
        output.WriteLine($"Api enqueuing again {back.Elapsed.TotalSeconds:F1} s after PostgreSQL accepted connections.");

        await using var db = Npgsql.NpgsqlDataSource.Create(owner);
        await using var count = db.CreateCommand("SELECT count(*) FROM jobs.job_all");
        Assert.Equal((long)created, (long)(await count.ExecuteScalarAsync())!);
        Assert.False(api.HasExited, log.ToString());
    }

    private static Task<HttpResponseMessage> EnqueueAsync(HttpClient http) =>
        http.PostAsync("/jobs", new StringContent("""{"kind":"noop"}""", Encoding.UTF8, "application/json"));

    // Each probe is a real enqueue; only a 201 counts as a job, and the table must agree.
    private static async Task<HttpStatusCode> StatusAsync(HttpClient http)
    {
        try
        {
            using var response = await EnqueueAsync(http);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
