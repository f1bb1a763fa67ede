using System.Net;

namespace Api.Tests;

public sealed class ServiceTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Health_reports_postgresql_and_redis_healthy_and_alive_answers()
    {
        var health = await api.Anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var report = await health.BodyAsync();
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("StackExchange.Redis").GetProperty("status").GetString());
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("PostgreSql").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync("/alive")).StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_endpoint()
    {
        var document = await (await api.Anonymous.GetAsync("/openapi/v1.json")).BodyAsync();
        var paths = document.GetProperty("paths");
        var described = AppEndpoints.Of(api.Factory).Where(e => e.Described).ToList();

        // The router's own list, not one typed here: a new endpoint is covered as soon as it is mapped.
        Assert.Contains(described, e => e.Method == "POST" && e.Pattern == "/jobs");
        var missing = described.Where(e => !(paths.TryGetProperty(e.Pattern, out var path) && path.TryGetProperty(e.Method.ToLowerInvariant(), out _)));
        Assert.Empty(missing);
        Assert.True(paths.GetProperty("/jobs").GetProperty("post").TryGetProperty("requestBody", out _));
    }

    [Fact]
    public async Task The_reference_page_and_its_script_are_served_by_the_api_itself()
    {
        var page = await api.Anonymous.GetAsync("/scalar/v1");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("cdn.", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("fonts.", html, StringComparison.OrdinalIgnoreCase);
        var scripts = System.Text.RegularExpressions.Regex.Matches(html, "<script[^>]+src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            Assert.False(script.StartsWith("http", StringComparison.OrdinalIgnoreCase), script);
            var url = script.StartsWith('/') ? script : "/scalar/" + script;
            Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync(url)).StatusCode);
        }
    }

    [Theory]
    [InlineData("/jobs/1")]
    [InlineData("/stats")]
    [InlineData("/health")]
    [InlineData("/no-such-path")]
    [InlineData("/admin")]
    public async Task Security_headers_are_on_every_response_errors_included(string path)
    {
        var response = await api.Producer.GetAsync(path);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_path_is_a_404_problem()
    {
        await (await api.Admin.GetAsync("/no-such-path")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await api.Admin.DeleteAsync("/jobs/1")).AssertProblemAsync(HttpStatusCode.MethodNotAllowed);
    }
}
