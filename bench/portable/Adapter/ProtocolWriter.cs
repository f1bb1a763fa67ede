using System.Text.Json;
using System.Text.Json.Serialization;

namespace Adapter;

/// <summary>The startup record: what the adapter is and which tables and extensions it uses.</summary>
internal sealed record DescriptorRecord(
    string System, IReadOnlyList<string> EventTables, IReadOnlyList<string> Extensions, string Version,
    string SchemaVersion, string DbName, string StartedAt, int InstanceId)
{
    public string Kind => "descriptor";
}

/// <summary>One metric of one sample tick.</summary>
internal sealed record SampleRecord(string T, string System, string Metric, double Value, int WindowS, int InstanceId)
{
    public string Kind => "adapter";
    public string SubjectKind => "adapter";
    public string Subject => "";
}

/// <summary>
/// Why it exists: stdout is the protocol, one JSON object per line and nothing else (logs go to
/// stderr). Every write is whole lines, under a lock, flushed at once, so a harness tailing the
/// pipe never sees half a record and a SIGKILL loses nothing already written.
/// </summary>
internal sealed class ProtocolWriter(TextWriter stdout)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.Strict,
    };

    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _descriptorWritten = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the descriptor is out: samples may follow it, never precede it.</summary>
    public Task DescriptorWritten => _descriptorWritten.Task;

    /// <summary>Writes the startup record; the sampler starts ticking after it.</summary>
    public void WriteDescriptor(DescriptorRecord descriptor)
    {
        Write([descriptor]);
        _descriptorWritten.TrySetResult();
    }

    public void Write<T>(IEnumerable<T> records)
    {
        lock (_gate)
        {
            foreach (var record in records)
            {
                stdout.Write(JsonSerializer.Serialize(record, Json));
                stdout.Write('\n');
            }

            stdout.Flush();
        }
    }

    /// <summary>The protocol's timestamp: UTC, millisecond precision, <c>Z</c>.</summary>
    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
