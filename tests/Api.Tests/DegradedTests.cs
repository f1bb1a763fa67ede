using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Api.Tests;

/// <summary>A port on loopback where nothing listens: a dependency that is down.</summary>
public static class ClosedPort
{
    public static int Find()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An Api whose Redis is down (its connection string points at a closed port).</summary>
public sealed class RedisDownFixture : ApiFixture
{
    protected override void Configure(Dictionary<string, string?> settings) =>
        settings["ConnectionStrings:cache"] = $"127.0.0.1:{ClosedPort.Find()},password=unused";
}

public sealed class RedisDownTests(RedisDownFixture api) : IClassFixture<RedisDownFixture>
{
    [Fact]
    public async Task The_api_serves_from_memory_and_health_reports_redis_degraded()
    {
        var created = await api.Admin.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-redis-down"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.BodyAsync()).GetProperty("id").GetInt64();
        await api.Admin.PostAsync($"/jobs/{id}/cancel", null);

        // The cancelled job was stored by the cancel's read: served from the in-memory tier.
        var hit = await api.Admin.GetAsync($"/jobs/{id}");
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("hit", hit.Cache());

        var first = await api.Admin.GetAsync("/stats");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("miss", first.Cache());
        Assert.Equal("hit", (await api.Admin.GetAsync("/stats")).Cache());

        var health = await api.Anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var report = await health.BodyAsync();
        Assert.Equal("Degraded", report.GetProperty("status").GetString());
        Assert.Equal("Degraded", report.GetProperty("checks").GetProperty("StackExchange.Redis").GetProperty("status").GetString());
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("PostgreSql").GetProperty("status").GetString());
        Assert.DoesNotContain("password", await health.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>An Api without any Redis configured.</summary>
public sealed class NoRedisFixture : ApiFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["ConnectionStrings:cache"] = "";
}

public sealed class NoRedisTests(NoRedisFixture api) : IClassFixture<NoRedisFixture>
{
    [Fact]
    public async Task The_api_caches_in_memory_and_health_says_redis_is_not_configured()
    {
        Assert.Equal("miss", (await api.Admin.GetAsync("/stats")).Cache());
        Assert.Equal("hit", (await api.Admin.GetAsync("/stats")).Cache());
        var report = await (await api.Anonymous.GetAsync("/health")).BodyAsync();
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        Assert.Contains("not configured", report.GetProperty("checks").GetProperty("StackExchange.Redis").GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>An Api whose PostgreSQL is down (its connection string points at a closed port).</summary>
public sealed class PostgresDownFixture : ApiFixture
{
    protected override void Configure(Dictionary<string, string?> settings) =>
        settings["ConnectionStrings:jobsdb"] = new NpgsqlConnectionStringBuilder(Db.AppConnectionString) { Port = ClosedPort.Find(), Timeout = 2 }.ConnectionString;
}

public sealed class PostgresDownTests(PostgresDownFixture api) : IClassFixture<PostgresDownFixture>
{
    public static TheoryData<string, string, string?> Requests => new()
    {
        { "POST", "/jobs", """{"kind":"noop"}""" },
        { "POST", "/jobs", """{"kind":"not-configured-kind"}""" },
        { "POST", "/jobs/batch", """[{"kind":"noop"}]""" },
        { "GET", "/jobs/1", null },
        { "GET", "/jobs?state=available", null },
        { "POST", "/jobs/1/cancel", null },
        { "POST", "/jobs/1/retry", null },
        { "POST", "/workflows", """{"steps":[{"name":"a","kind":"noop"}]}""" },
        { "GET", "/workflows/1", null },
        { "POST", "/batches", """{"callback":{"kind":"noop"},"jobs":[{"kind":"noop"}]}""" },
        { "POST", "/batches/1/jobs", """{"jobs":[{"kind":"noop"}]}""" },
        { "POST", "/batches/1/seal", null },
        { "GET", "/batches/1", null },
        { "GET", "/stats", null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Every_endpoint_answers_503_saying_a_retry_is_safe(string method, string path, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = Http.Json(body);
        }

        var response = await api.Admin.SendAsync(request);
        await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, retryable: true);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.DoesNotContain("Password", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Health_reports_postgresql_unhealthy_and_alive_still_answers()
    {
        var health = await api.Anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("Unhealthy", (await health.BodyAsync()).GetProperty("checks").GetProperty("PostgreSql").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync("/alive")).StatusCode);
    }
}
