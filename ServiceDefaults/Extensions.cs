using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

// Adds common Aspire services: service discovery, resilience, health checks, and OpenTelemetry.
// This project should be referenced by each service project in your solution.
// To learn more about using this project, see https://aka.ms/aspire/service-defaults
//
// Shaped as Aspire 13's ServiceDefaults template; every addition of ours is marked "Ours:".
// PostgreSQL and Redis are not wired here: each service's Aspire client integration
// (AddNpgsqlDataSource, AddRedisClient) adds its own health check, traces and metrics.

/// <summary>
/// What every service of the stack shares, in the shape of the Aspire template: OpenTelemetry
/// (logs, metrics, traces), default health checks, service discovery and resilient HttpClients.
/// Ours on top: the job engine's source and meter, console lines carrying trace and span ids,
/// secrets masked in every log sink, and a <c>/health</c> report that names each check.
/// </summary>
public static class Extensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    /// <summary>Ours: the ActivitySource and Meter name of the job engine (kept here so ServiceDefaults needs no engine reference).</summary>
    public const string JobEngineTelemetryName = "JobEngine";

    /// <summary>Ours: the name of the setting that builds spans and metrics with no OTLP endpoint (for an exporter added in code).</summary>
    public const string CollectTelemetrySetting = "Telemetry:Collect";

    /// <summary>OpenTelemetry, health checks, service discovery and HttpClient defaults.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();

        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();

        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // Turn on resilience by default
            http.AddStandardResilienceHandler();

            // Turn on service discovery by default
            http.AddServiceDiscovery();
        });

        return builder;
    }

    /// <summary>Logs (secrets masked, with trace and span ids on the console), metrics and traces, exported over OTLP when configured.</summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        // Ours: spans and metrics are built only when something exports them. Without an exporter the
        // SDK still made a span and three measurements for every job that nobody could read: 1.3 µs
        // of a Worker's CPU per job, a fifth of what a no-op job costs it (a 300,000-job drain, 7.0-7.5
        // -> 5.8-6.1 µs a job). Telemetry:Collect=true builds them for an exporter added in code.
        if (builder.ExportsTelemetry())
        {
            builder.Services.AddOpenTelemetry()
                .WithMetrics(metrics =>
                {
                    metrics.AddAspNetCoreInstrumentation()
                        .AddHttpClientInstrumentation()
                        .AddRuntimeInstrumentation()
                        // Ours: the job instruments and the Api's cache counters.
                        .AddMeter(JobEngineTelemetryName)
                        .AddMeter(builder.Environment.ApplicationName);
                })
                .WithTracing(tracing =>
                {
                    tracing.AddSource(builder.Environment.ApplicationName)
                        // Ours: a span per job run, child of the request that enqueued it.
                        .AddSource(JobEngineTelemetryName)
                        .AddAspNetCoreInstrumentation(tracing =>
                            // Exclude health check requests from tracing
                            tracing.Filter = context =>
                                !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                                && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                        .AddHttpClientInstrumentation();
                });
        }

        builder.AddLogSafety();

        builder.AddOpenTelemetryExporters();

        return builder;
    }

    // Ours: secrets never leave the process in a log, and console lines can be found in the trace view.
    private static TBuilder AddLogSafety<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        // Npgsql logs each command's text at Information; a DDL text can hold a secret
        // (ALTER ROLE ... PASSWORD), so command logs stop at Warning whatever the configuration says.
        builder.Logging.AddFilter("Npgsql.Command", LogLevel.Warning);
        builder.Logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        builder.Logging.AddConsoleFormatter<TraceConsoleFormatter, ConsoleFormatterOptions>();
        builder.Logging.AddConsole(options => options.FormatterName = TraceConsoleFormatter.FormatterName);
        // Registered before any exporter (OTLP below, or a test's), so every exporter gets masked records.
        builder.Services.AddOpenTelemetry().WithLogging(logging => logging.AddProcessor<RedactingLogProcessor>());
        return builder;
    }

    private static TBuilder AddOpenTelemetryExporters<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        if (builder.HasOtlpEndpoint())
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    private static bool HasOtlpEndpoint(this IHostApplicationBuilder builder) =>
        !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    private static bool ExportsTelemetry(this IHostApplicationBuilder builder) =>
        builder.HasOtlpEndpoint() || builder.Configuration.GetValue<bool>(CollectTelemetrySetting);

    /// <summary>A <c>self</c> check tagged <c>live</c>, which <c>/alive</c> reports.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            // Add a default liveness check to ensure app is responsive
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);

        return builder;
    }

    /// <summary><c>/health</c> (every check) and <c>/alive</c> (checks tagged <c>live</c>).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Ours: mapped in every environment (the AppHost, run.sh and the tests probe them in
        // Production too); they show check names and statuses, never a secret.
        // All health checks must pass for app to be considered ready to accept traffic after starting
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = WriteHealthReportAsync });

        // Only health checks tagged with the "live" tag must pass for app to be considered alive
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });

        return app;
    }

    // Ours: each check's status and description (or its exception's message, masked), so /health
    // says which dependency is degraded and why (the default writer prints only the overall status).
    private static Task WriteHealthReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return System.Text.Json.JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = SecretRedactor.Redact(e.Value.Description ?? e.Value.Exception?.Message),
            }),
        }, cancellationToken: context.RequestAborted);
    }
}
