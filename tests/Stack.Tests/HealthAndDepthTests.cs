using System.Diagnostics.Metrics;
using JobEngine;
using JobEngine.Telemetry;
using JobEngine.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Stack.Tests;

/// <summary>The queue-depth gauge, against the real server.</summary>
public sealed class HealthAndDepthTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task The_queue_depth_gauge_reports_served_queues_at_zero_live_jobs_per_queue_and_state_and_zero_once_they_are_gone()
    {
        var queue = "depth-" + Guid.NewGuid().ToString("N")[..8];
        var client = new JobClient(db.App);
        var jobs = await client.EnqueueManyAsync([
            NewJob.Create("noop", new { }) with { Queue = queue },
            NewJob.Create("noop", new { }) with { Queue = queue },
            NewJob.Create("noop", new { }) with { Queue = queue, RunAt = DateTimeOffset.UtcNow.AddHours(1) },
        ]);
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        await using var _ = services;
        var gauge = new QueueDepthGauge(db.App, services.GetRequiredService<IMeterFactory>(), TimeProvider.System, NullLogger<QueueDepthGauge>.Instance, TimeSpan.FromSeconds(5), [queue + "-idle"]);

        var idle = Observe(queue + "-idle");
        await gauge.SampleAsync(CancellationToken.None);
        var before = Observe(queue);
        foreach (var job in jobs)
        {
            await client.CancelAsync(job.Job.Id);
        }

        await gauge.SampleAsync(CancellationToken.None);
        var after = Observe(queue);

        Assert.Equal(4, idle.Count);
        Assert.All(idle.Values, depth => Assert.Equal(0, depth));
        Assert.Equal(2, before["available"]);
        Assert.Equal(1, before["scheduled"]);
        Assert.Equal(0, after["available"]);
        Assert.Equal(0, after["scheduled"]);
        Assert.DoesNotContain("cancelled", after.Keys);
    }

    // Reads job.queue.depth as a metrics pipeline would: by observing the instrument.
    private static Dictionary<string, long> Observe(string queue)
    {
        var depths = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == JobTelemetry.Name && instrument.Name == "job.queue.depth")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var tagMap = tags.ToArray().ToDictionary(t => t.Key, t => t.Value as string);
            if (tagMap["job.queue"] == queue)
            {
                depths[tagMap["job.state"]!] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return depths;
    }
}
