using System.Diagnostics.Metrics;
using JobEngine.Telemetry;

namespace Adapter;

/// <summary>
/// Why it exists: <c>queue_depth</c> is "available jobs not yet claimed". The engine already
/// publishes that as its <c>job.queue.depth</c> gauge (tags <c>job.queue</c>, <c>job.state</c>),
/// sampled from the database every second here; this reads the gauge the way any metrics
/// exporter would, so the adapter needs no knowledge of the engine's tables.
/// </summary>
internal sealed class QueueDepthReader : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _available;

    public QueueDepthReader()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == JobTelemetry.Name && instrument.Name == "job.queue.depth")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? queue = null, state = null;
            foreach (var tag in tags)
            {
                queue = tag.Key == "job.queue" ? tag.Value as string : queue;
                state = tag.Key == "job.state" ? tag.Value as string : state;
            }

            if (queue == BenchJobArgs.Queue && state == "available")
            {
                Interlocked.Exchange(ref _available, value);
            }
        });
        _listener.Start();
    }

    /// <summary>Available jobs of the benchmark's queue at the gauge's latest sample.</summary>
    public long Available()
    {
        _listener.RecordObservableInstruments();
        return Interlocked.Read(ref _available);
    }

    public void Dispose() => _listener.Dispose();
}
