using System.Globalization;
using System.Text.Json;

namespace Driver;

/// <summary>
/// Why it exists: the harness trusts an adapter's stdout, so the driver checks every line of it
/// against the protocol: JSON only; a descriptor first (within 60 s of launch) that agrees with
/// the manifest; then samples on wall-clock multiples of SAMPLE_EVERY_S with the right kind,
/// subject, window and a finite number, every required metric at every tick, ticks rising.
/// One validator watches one adapter process.
/// </summary>
internal sealed class ProtocolValidator(SystemUnderTest system, string database, int sampleEverySeconds, int instance, DateTimeOffset launchedAt, SampleStore store)
{
    public static readonly IReadOnlyList<string> EveryReplicaMetrics = ["claim_p50_ms", "claim_p95_ms", "claim_p99_ms", "enqueue_rate", "completion_rate"];

    /// <summary>Only instance 0 reports the queue depth (the harness's observer convention).</summary>
    public const string ObserverMetric = "queue_depth";

    private readonly TaskCompletionSource _descriptor = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _tickMetrics = [];
    private DateTimeOffset? _tick;
    private int _lines;

    /// <summary>Completes when a valid descriptor arrived.</summary>
    public Task Descriptor => _descriptor.Task;

    private string Who => $"{system.Name} #{instance}";

    public void Accept(string line, DateTimeOffset receivedAt)
    {
        _lines++;
        JsonElement record;
        try
        {
            using var document = JsonDocument.Parse(line);
            record = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            store.Violation($"{Who} line {_lines} is not JSON: {Cut(line)}");
            return;
        }

        if (record.ValueKind != JsonValueKind.Object)
        {
            store.Violation($"{Who} line {_lines} is not a JSON object: {Cut(line)}");
        }
        else if (_lines == 1)
        {
            AcceptDescriptor(record, receivedAt);
        }
        else
        {
            AcceptSample(record);
        }
    }

    /// <summary>Checks the last tick was whole; a SIGKILLed process is excused its last tick.</summary>
    public void Finish(bool killed)
    {
        if (_lines == 0)
        {
            store.Violation($"{Who} wrote nothing on stdout");
        }
        else if (!killed)
        {
            CloseTick();
        }
    }

    private void AcceptDescriptor(JsonElement record, DateTimeOffset receivedAt)
    {
        var problems = new List<string>();
        if (String(record, "kind") != "descriptor")
        {
            problems.Add("the first line is not kind 'descriptor'");
        }

        if (String(record, "system") != system.Name)
        {
            problems.Add($"system is '{String(record, "system")}', expected '{system.Name}'");
        }

        if (String(record, "db_name") != database)
        {
            problems.Add($"db_name is '{String(record, "db_name")}', expected '{database}'");
        }

        foreach (var field in new[] { "version", "schema_version", "started_at" })
        {
            if (string.IsNullOrEmpty(String(record, field)))
            {
                problems.Add($"{field} is missing or not a string");
            }
        }

        foreach (var (field, declared) in new[] { ("event_tables", system.Manifest.EventTables), ("extensions", system.Manifest.Extensions) })
        {
            var listed = record.TryGetProperty(field, out var array) && array.ValueKind == JsonValueKind.Array
                ? array.EnumerateArray().Select(e => e.GetString()).ToHashSet()
                : null;
            if (listed is null)
            {
                problems.Add($"{field} is not an array");
            }
            else if (declared.Except(listed!).ToList() is { Count: > 0 } missing)
            {
                problems.Add($"{field} lacks {string.Join(", ", missing)} of adapter.json (must be a superset)");
            }
        }

        if (receivedAt - launchedAt > TimeSpan.FromSeconds(60))
        {
            problems.Add($"it came {(receivedAt - launchedAt).TotalSeconds:F0} s after launch (at most 60 s)");
        }

        foreach (var problem in problems)
        {
            store.Violation($"{Who} descriptor: {problem}");
        }

        if (problems.Count == 0)
        {
            _descriptor.TrySetResult();
        }
    }

    private void AcceptSample(JsonElement record)
    {
        var metric = String(record, "metric") ?? "";
        var expectedWindow = metric switch
        {
            "claim_p50_ms" or "claim_p95_ms" or "claim_p99_ms" => 30,
            "enqueue_rate" or "completion_rate" => sampleEverySeconds,
            ObserverMetric => 0,
            _ => (int?)null,
        };
        var problems = new List<string>();
        if (String(record, "kind") != "adapter" || String(record, "subject_kind") != "adapter" || String(record, "subject") != "" || String(record, "system") != system.Name)
        {
            problems.Add("kind and subject_kind must be 'adapter', subject '' and system the adapter's");
        }

        if (expectedWindow is null)
        {
            problems.Add($"metric '{metric}' is not one of the protocol's");
        }
        else if (!record.TryGetProperty("window_s", out var window) || window.ValueKind != JsonValueKind.Number || window.GetDouble() != expectedWindow)
        {
            problems.Add($"window_s of {metric} must be {expectedWindow}");
        }

        var value = record.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
        if (!double.IsFinite(value) || value < 0)
        {
            problems.Add($"value of {metric} is not a finite non-negative number");
        }

        var t = DateTimeOffset.TryParse(String(record, "t"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : (DateTimeOffset?)null;
        if (t is null || t.Value.ToUnixTimeMilliseconds() % (sampleEverySeconds * 1000L) != 0)
        {
            problems.Add($"t '{String(record, "t")}' is not a wall-clock multiple of {sampleEverySeconds} s");
        }

        foreach (var problem in problems)
        {
            store.Violation($"{Who} line {_lines}: {problem}");
        }

        if (problems.Count > 0 || t is null)
        {
            return;
        }

        if (_tick != t)
        {
            if (_tick is { } previous && t <= previous)
            {
                store.Violation($"{Who} line {_lines}: tick {t:O} does not follow {previous:O}");
            }

            CloseTick();
            _tick = t;
        }

        if (!_tickMetrics.Add(metric))
        {
            store.Violation($"{Who} line {_lines}: {metric} twice in tick {t:O}");
        }

        store.Add(new Sample(instance, t.Value, metric, value));
    }

    private void CloseTick()
    {
        if (_tick is null)
        {
            return;
        }

        var required = instance == 0 ? EveryReplicaMetrics.Append(ObserverMetric) : EveryReplicaMetrics;
        if (required.Except(_tickMetrics).ToList() is { Count: > 0 } missing)
        {
            store.Violation($"{Who} tick {_tick:O} lacks {string.Join(", ", missing)}");
        }

        _tickMetrics.Clear();
    }

    private static string? String(JsonElement record, string name) =>
        record.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    private static string Cut(string line) => line.Length > 120 ? line[..120] + "..." : line;
}
