using System.Net;
using System.Net.Http.Headers;
using JobEngine.Tests;

namespace Api.Tests;

public sealed class AuthTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    public static TheoryData<string, string> EveryEndpoint => new()
    {
        { "POST", "/jobs" },
        { "POST", "/jobs/batch" },
        { "GET", "/jobs" },
        { "GET", "/jobs/1" },
        { "POST", "/jobs/1/cancel" },
        { "POST", "/jobs/1/retry" },
        { "POST", "/workflows" },
        { "GET", "/workflows/1" },
        { "POST", "/workflows/1/cancel" },
        { "GET", "/workflows" },
        { "POST", "/batches" },
        { "POST", "/batches/1/jobs" },
        { "POST", "/batches/1/seal" },
        { "GET", "/batches/1" },
        { "GET", "/stats" },
    };

    public static TheoryData<string, string> AdminEndpoints => new()
    {
        { "GET", "/jobs" },
        { "GET", "/workflows" },
        { "POST", "/jobs/1/cancel" },
        { "POST", "/jobs/1/retry" },
        { "GET", "/stats" },
    };

    [Theory]
    [MemberData(nameof(EveryEndpoint))]
    public async Task Without_a_key_every_endpoint_answers_401_with_a_bearer_challenge(string method, string path)
    {
        var response = await api.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Http.Json("{}") });
        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "Authorization");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [MemberData(nameof(EveryEndpoint))]
    public async Task A_wrong_key_answers_401(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Http.Json("{}") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.Admin + "x");
        await (await api.Anonymous.SendAsync(request)).AssertProblemAsync(HttpStatusCode.Unauthorized, "Authorization");

        var notBearer = new HttpRequestMessage(new HttpMethod(method), path) { Content = Http.Json("{}") };
        notBearer.Headers.Authorization = new AuthenticationHeaderValue("Basic", TestKeys.Admin);
        await (await api.Anonymous.SendAsync(notBearer)).AssertProblemAsync(HttpStatusCode.Unauthorized, "Authorization");
    }

    [Theory]
    [MemberData(nameof(AdminEndpoints))]
    public async Task A_producer_key_on_admin_endpoints_answers_403(string method, string path)
    {
        var response = await api.Producer.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "Authorization");
    }

    [Fact]
    public async Task An_admin_key_reaches_admin_endpoints_and_a_producer_key_enqueues()
    {
        Assert.Equal(HttpStatusCode.OK, (await api.Admin.GetAsync("/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Admin.GetAsync("/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.Producer.PostJsonAsync("/jobs", """{"kind":"noop","queue":"q-auth"}""")).StatusCode);
    }

    [Fact]
    public async Task Keys_are_configured_only_as_hashes_and_a_malformed_hash_stops_start_up()
    {
        var settings = ApiFactory.Settings(api.Db);
        Assert.DoesNotContain(settings.Values, v => v is not null && v.Contains(TestKeys.Admin, StringComparison.Ordinal));

        // The Api.dll an operator runs, not WebApplicationFactory: when start-up fails there, the app
        // disposes its host while the factory still reads it, and the factory may throw
        // ObjectDisposedException instead of the validation error.
        settings["Api:Keys:admin:Hash"] = TestKeys.Admin;
        var environment = settings.Where(s => s.Value is not null).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        var output = new StringWriter();
        using var broken = WorkerProcess.StartApi(api.Db.AppConnectionString, "http://127.0.0.1:0", environment, output);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await broken.WaitForExitAsync(timeout.Token);

        Assert.NotEqual(0, broken.ExitCode);
        Assert.Contains("Api:Keys holds an invalid key", output.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>An Api that allows only three failed authentications per client address.</summary>
public sealed class StrictAuthFixture : ApiFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Api:AuthFailureLimit"] = "3";
}

public sealed class BruteForceTests(StrictAuthFixture api) : IClassFixture<StrictAuthFixture>
{
    [Fact]
    public async Task Repeated_wrong_keys_get_429_with_retry_after_even_for_a_then_correct_key()
    {
        Assert.Equal(HttpStatusCode.OK, (await api.Admin.GetAsync("/stats")).StatusCode);
        for (var i = 0; i < 3; i++)
        {
            using var guess = api.Factory.ClientWith("guess-" + i);
            await (await guess.GetAsync("/stats")).AssertProblemAsync(HttpStatusCode.Unauthorized, "Authorization");
        }

        using var fourth = api.Factory.ClientWith("guess-4");
        var limited = await fourth.GetAsync("/stats");
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "Authorization", retryable: true);
        Assert.NotNull(limited.Headers.RetryAfter);

        // Locked out: a correct guess now would not be recognised, which is what makes guessing slow.
        await (await api.Admin.GetAsync("/stats")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "Authorization", retryable: true);
        // Requests that need no key are not affected.
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync("/alive")).StatusCode);
    }
}
