using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using JobEngine.Telemetry;

namespace JobEngine.Tests;

/// <summary>
/// Sums what the engine's <c>job.workflow.*</c> counters record in this process while it lives,
/// by name (a cancelled step's count as name/reason). Only the classes of
/// <see cref="WorkflowMachineryCollection"/> use workflows and batches, one test at a time.
/// </summary>
public sealed class WorkflowCounters : IDisposable
{
    private readonly ConcurrentDictionary<string, long> _counted = new();
    private readonly MeterListener _listener = new();

    public WorkflowCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == JobTelemetry.Name && instrument.Name.StartsWith("job.workflow.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var reason = tags.ToArray().Where(t => t.Key == "job.workflow.cancel_reason").Select(t => "/" + t.Value).FirstOrDefault();
            _counted.AddOrUpdate(instrument.Name + reason, value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    /// <summary>The sum recorded so far under <paramref name="name"/>; 0 when nothing was.</summary>
    public long this[string name] => _counted.GetValueOrDefault(name);

    public void Dispose() => _listener.Dispose();
}
