using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JobEngine.Running;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Worker.Handlers;

namespace Reliability.Tests;

/// <summary>The webhook handler as the Worker wires it (service defaults, its named client, its options), delivering to loopback listeners.</summary>
public sealed class WebhookGuardTests
{
    private const string Secret = "test-signing-secret";
    private static readonly JobContext Job = new(42, "webhook", "default", 1, 25, TimeSpan.Zero, DateTimeOffset.UnixEpoch);

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://169.254.1.1:8080/hook")]
    [InlineData("http://100.100.100.200/latest/meta-data/")]
    [InlineData("http://[fe80::1]/hook")]
    [InlineData("http://[fd00:ec2::254]/hook")]
    [InlineData("http://[::ffff:169.254.169.254]/hook")]
    public async Task Targets_on_link_local_and_metadata_addresses_are_refused_before_connecting(string url)
    {
        using var worker = WorkerServices();

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => Deliver(worker, url));

        Assert.Contains("link-local or metadata addresses, which are refused (Webhooks:AllowLinkLocal)", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_AllowLinkLocal_the_guard_lets_a_link_local_target_through_to_the_network()
    {
        using var connects = new SocketConnectListener();
        using var worker = WorkerServices(new() { ["Webhooks:AllowLinkLocal"] = "true", ["Webhooks:Timeout"] = "00:00:10" });

        // Nothing answers on 169.254.169.254 here, so the delivery fails either way; what shows the
        // guard let it through is the socket's own record of a connect to that address and port.
        await Assert.ThrowsAnyAsync<Exception>(() => Deliver(worker, "http://169.254.169.254:9/hook"));

        // The guard's socket is dual mode, so it may connect to the IPv4-mapped IPv6 form.
        var target = IPAddress.Parse("169.254.169.254");
        string[] forms = [new IPEndPoint(target, 9).Serialize().ToString(), new IPEndPoint(target.MapToIPv6(), 9).Serialize().ToString()];
        Assert.Contains(connects.Started, forms.Contains);
    }

    [Fact]
    public async Task A_delivery_is_one_post_of_the_payload_signed_with_hmac_sha256_of_timestamp_and_body()
    {
        await using var receiver = LoopbackHttpServer.Answering("204 No Content");
        using var worker = WorkerServices();

        await Deliver(worker, receiver.Url.ToString(), """{"order":7,"note":"<b>é</b>"}""");

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/hook", request.Path);
        Assert.Equal("application/json", request.Headers["Content-Type"]);
        Assert.Equal("42", request.Headers["X-Webhook-Id"]);
        Assert.Equal(7, JsonDocument.Parse(request.Body).RootElement.GetProperty("order").GetInt32());
        var signed = Encoding.UTF8.GetBytes(request.Headers["X-Webhook-Timestamp"] + ".").Concat(request.Body).ToArray();
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), signed));
        Assert.Equal(expected, request.Headers["X-Webhook-Signature"]);
        Assert.InRange(long.Parse(request.Headers["X-Webhook-Timestamp"], System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task A_redirect_fails_the_attempt_and_its_target_is_never_contacted()
    {
        await using var elsewhere = LoopbackHttpServer.Answering("204 No Content");
        await using var redirecting = LoopbackHttpServer.Answering("302 Found", $"Location: {elsewhere.Url}");
        using var worker = WorkerServices();

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => Deliver(worker, redirecting.Url.ToString()));

        Assert.Equal(HttpStatusCode.Found, error.StatusCode);
        Assert.Single(redirecting.Requests);
        Assert.Equal(0, elsewhere.Connections);
    }

    [Fact]
    public async Task A_failing_answer_fails_the_attempt_after_exactly_one_request_no_hidden_retry()
    {
        await using var failing = LoopbackHttpServer.Answering("503 Service Unavailable");
        using var worker = WorkerServices();

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => Deliver(worker, failing.Url.ToString()));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal(1, failing.Connections);
    }

    [Fact]
    public async Task An_endless_response_is_read_up_to_the_size_cap_and_the_connection_dropped()
    {
        var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        long sent = 0;
        await using var endless = new LoopbackHttpServer(async (_, stream, ct) =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"), ct);
            for (var i = 0; i < 16 * 1024; i++)
            {
                await stream.WriteAsync(chunk, ct);
                Interlocked.Add(ref sent, chunk.Length);
            }
        });
        using var worker = WorkerServices(new() { ["Webhooks:MaxResponseBytes"] = "100000" });

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => Deliver(worker, endless.Url.ToString()));
        await endless.ResponseEnded.WaitAsync(TimeSpan.FromSeconds(60));

        // 1 GiB was on offer; the handler read 100 kB and hung up (what the server wrote before
        // noticing is bounded by the sockets' buffers).
        Assert.True(Interlocked.Read(ref sent) < 64L * 1024 * 1024, $"the server wrote {Interlocked.Read(ref sent):N0} bytes before the client hung up");
        Assert.InRange(error.Message.Length, 1, 1000);
    }

    [Fact]
    public async Task A_target_that_never_answers_fails_the_attempt_at_the_configured_timeout()
    {
        await using var silent = new LoopbackHttpServer((_, _, ct) => Task.Delay(Timeout.Infinite, ct));
        // Long enough that a loaded machine still connects before it fires (the assertion below).
        using var worker = WorkerServices(new() { ["Webhooks:Timeout"] = "00:00:03" });
        using var jobToken = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Deliver(worker, silent.Url.ToString(), cancellationToken: jobToken.Token).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.False(jobToken.IsCancellationRequested);
        // The attempt reached the target (which may only get to accept it after the client gave up).
        await Eventually.WaitForAsync(() => Task.FromResult(silent.Connections), connections => connections == 1, "the target to see the connection");
    }

    [Fact]
    public async Task Without_a_signing_secret_nothing_is_sent()
    {
        await using var receiver = LoopbackHttpServer.Answering("204 No Content");
        using var worker = WorkerServices(new() { ["Webhooks:SigningSecret"] = "" });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Deliver(worker, receiver.Url.ToString()));

        Assert.Contains("Webhooks:SigningSecret", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, receiver.Connections);
    }

    private static IHost WorkerServices(Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:jobsdb"] = "Host=127.0.0.1;Database=unused;Username=unused",
            ["Webhooks:SigningSecret"] = Secret,
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        return builder.Build();
    }

    private static async Task Deliver(IHost worker, string url, string payload = """{"hello":"world"}""", CancellationToken cancellationToken = default)
    {
        await using var scope = worker.Services.CreateAsyncScope();
        var handler = scope.ServiceProvider.GetRequiredService<WebhookHandler>();
        await handler.HandleAsync(Job, new WebhookArgs(new Uri(url), JsonDocument.Parse(payload).RootElement), cancellationToken);
    }
}
