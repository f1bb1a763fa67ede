// A service exports OTLP to one endpoint, and Aspire points it at the dashboard. When ./run.sh is
// given an external collector (OTEL_EXPORTER_OTLP_ENDPOINT), both must get the telemetry: the
// services then export OTLP/HTTP to this relay, which forwards each request as it came to the
// dashboard and to the collector. The caller's other OTEL_* settings reach the services as given.
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppHost;

/// <summary>Where the relay listens and where it forwards to.</summary>
/// <param name="Port">The relay's loopback port.</param>
/// <param name="Dashboard">The dashboard's OTLP/HTTP endpoint.</param>
/// <param name="External">The external collector's OTLP/HTTP endpoint.</param>
/// <param name="ExternalHeaders">Headers for the collector (OTEL_EXPORTER_OTLP_HEADERS: k=v,k=v).</param>
public sealed record OtlpRelayOptions(int Port, Uri Dashboard, Uri External, string? ExternalHeaders);

/// <summary>Forwards OTLP/HTTP requests to the dashboard and to an external collector.</summary>
public sealed partial class OtlpRelay(OtlpRelayOptions options, IHttpClientFactory clients, ILogger<OtlpRelay> logger) : IHostedService, IAsyncDisposable
{
    /// <summary>The configuration section holding the caller's OTEL_* variables (./run.sh fills it).</summary>
    public const string Section = "Stack:Otel";

    private static readonly string[] OwnedByAspire = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS"];
    private WebApplication? _app;

    /// <summary>Hands the caller's OTEL_* settings to <paramref name="services"/>, through the relay when an external endpoint is given.</summary>
    public static void Add(IDistributedApplicationBuilder builder, params IResourceBuilder<ProjectResource>[] services)
    {
        var otel = builder.Configuration.GetSection(Section).GetChildren().ToDictionary(c => c.Key, c => c.Value ?? "");
        if (otel.Count == 0 || !builder.ExecutionContext.IsRunMode)
        {
            return;
        }

        OtlpRelayOptions? relay = null;
        if (otel.TryGetValue("OTEL_EXPORTER_OTLP_ENDPOINT", out var external) && builder.Configuration["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] is { } dashboard)
        {
            var dashboardOtlp = new Uri(dashboard);
            relay = new(FreePortOtherThan(dashboardOtlp.Port), dashboardOtlp, new Uri(external), otel.GetValueOrDefault("OTEL_EXPORTER_OTLP_HEADERS"));
            builder.Services.AddHttpClient();
            builder.Services.AddSingleton(relay);
            builder.Services.AddHostedService<OtlpRelay>();
        }

        foreach (var service in services)
        {
            service.WithEnvironment(context =>
            {
                foreach (var (name, value) in otel.Where(o => !OwnedByAspire.Contains(o.Key)))
                {
                    // Resource attributes add to Aspire's (service.instance.id); the rest replace its development defaults.
                    context.EnvironmentVariables[name] = name == "OTEL_RESOURCE_ATTRIBUTES" && context.EnvironmentVariables.TryGetValue(name, out var own) && own is string aspires
                        ? $"{value},{aspires}"
                        : value;
                }

                if (relay is not null)
                {
                    context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{relay.Port}";
                    context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                }
            });
        }
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{options.Port}");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/{signal}", RelayAsync);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        LogRelaying(options.Port, options.Dashboard, options.External);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<IResult> RelayAsync(string signal, HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var body = buffer.ToArray();
        var external = SendAsync(new Uri(options.External, $"/v1/{signal}"), body, request, Headers(options.ExternalHeaders), cancellationToken);
        var dashboard = await SendAsync(new Uri(options.Dashboard, $"/v1/{signal}"), body, request, request.Headers.Where(h => h.Key.StartsWith("x-", StringComparison.OrdinalIgnoreCase)).Select(h => (h.Key, h.Value.ToString())), cancellationToken).ConfigureAwait(false);
        await external.ConfigureAwait(false);
        return Results.StatusCode(dashboard);
    }

    private async Task<int> SendAsync(Uri target, byte[] body, HttpRequest request, IEnumerable<(string Name, string Value)> headers, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(body) };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        if (request.Headers.ContentEncoding.Count > 0)
        {
            message.Content.Headers.TryAddWithoutValidation("Content-Encoding", request.Headers.ContentEncoding.ToString());
        }

        foreach (var (name, value) in headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await clients.CreateClient().SendAsync(message, cancellationToken).ConfigureAwait(false);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException e)
        {
            LogForwardFailed(target, e.Message);
            return StatusCodes.Status502BadGateway;
        }
    }

    private static IEnumerable<(string, string)> Headers(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(h => h.Split('=', 2)).Where(p => p.Length == 2).Select(p => (p[0].Trim(), Uri.UnescapeDataString(p[1].Trim())));

    // The dashboard binds its OTLP port only once the app runs, after this port is chosen: a port the
    // system hands out as free here can be the one configured for the dashboard (seen once in the
    // whole-stack test, whose ports are all picked free the same way), and the relay then failed to bind.
    private static int FreePortOtherThan(int dashboardPort)
    {
        while (true)
        {
            using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            if (port != dashboardPort)
            {
                return port;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "OTLP relay on 127.0.0.1:{Port}: the services' telemetry goes to the dashboard ({Dashboard}) and to {External}")]
    private partial void LogRelaying(int port, Uri dashboard, Uri external);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OTLP relay could not reach {Target}: {Message}")]
    private partial void LogForwardFailed(Uri target, string message);
}
