using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Stack.Tests;

/// <summary>
/// What one host exported, through OpenTelemetry's in-memory exporter, registered after
/// AddServiceDefaults as any exporter would be (so it sees what OTLP would see).
/// </summary>
public sealed class Telemetry
{
    public LockedList<Activity> Spans { get; } = new();
    public LockedList<MetricSnapshot> Metrics { get; } = new();
    public LockedList<ExportedLog> Logs { get; } = new();

    public void AddTo(IServiceCollection services) =>
        services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddInMemoryExporter(Spans))
            .WithMetrics(metrics => metrics.AddInMemoryExporter(Metrics))
            .WithLogging(logging => logging.AddProcessor(new CopyingLogProcessor(Logs)));

    /// <summary>
    /// Asks ServiceDefaults to build spans and metrics without an OTLP endpoint (Telemetry:Collect), so this
    /// class's exporter sees them; set before <c>AddServiceDefaults</c>, which reads it.
    /// </summary>
    public static void Collect(IHostApplicationBuilder builder) =>
        builder.Configuration[Extensions.CollectTelemetrySetting] = "true";

    /// <summary>Exports every pending span and a fresh collection of every metric.</summary>
    public static void Flush(IServiceProvider services)
    {
        services.GetRequiredService<TracerProvider>().ForceFlush();
        services.GetRequiredService<MeterProvider>().ForceFlush();
    }

    /// <summary>The points of the latest export of the metric called <paramref name="name"/>.</summary>
    public IReadOnlyList<MetricPoint> Points(string name)
    {
        var latest = Metrics.Snapshot().LastOrDefault(m => m.Name == name);
        return latest is null ? [] : [.. latest.MetricPoints];
    }

    /// <summary>Measurements recorded by a histogram (its count) or added to a counter, over all points.</summary>
    public long Count(string name) =>
        Metrics.Snapshot().LastOrDefault(m => m.Name == name) is { } metric
            ? metric.MetricPoints.Sum(p => metric.MetricType switch
            {
                MetricType.Histogram or MetricType.ExponentialHistogram => p.GetHistogramCount(),
                MetricType.LongSum or MetricType.LongSumNonMonotonic => p.GetSumLong(),
                _ => 0,
            })
            : 0;

    public static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }
}

/// <summary>A log record as an exporter received it (records are pooled, so it is copied).</summary>
public sealed record ExportedLog(string? Message, string? Body, IReadOnlyList<KeyValuePair<string, object?>> Attributes, string? Exception, ActivityTraceId TraceId, ActivitySpanId SpanId);

internal sealed class CopyingLogProcessor(ICollection<ExportedLog> logs) : BaseProcessor<LogRecord>
{
    public override void OnEnd(LogRecord data) =>
        logs.Add(new(data.FormattedMessage, data.Body, [.. data.Attributes ?? []], data.Exception?.ToString(), data.TraceId, data.SpanId));
}
