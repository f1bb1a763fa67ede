using System.Globalization;
using System.Text;
using JobEngine.Running;
using Microsoft.Extensions.Options;

namespace Worker.Handlers;

/// <summary>Where <see cref="JobStartLog"/> writes; no file, no log.</summary>
public sealed class JobStartLogOptions
{
    /// <summary>The file written when the Worker stops (<c>Jobs:DiagnosticStartsFile</c>).</summary>
    public string? File { get; set; }
}

/// <summary>
/// Why it exists: a benchmark compares our pickup latency with other engines', which time it from
/// the job's creation (the database's created_at) to their handler's first line (the host's clock).
/// <c>noop</c> jobs note the same two instants here, as Unix ms: <see cref="JobContext.ReadyAt"/>
/// (a new job's creation) and the handler's call. The file holds one "created started" line per
/// start, written once at shutdown so that noting one costs the handler a list append.
/// Derived from <see cref="JobContext.QueueLatency"/> instead, the creation came out earlier by the
/// claim's trip to the database (counted twice there): 0.2 ms at the median and 1.1 ms at the 99th
/// percentile at 1,000 jobs/s on the bench's machine, where the peers' figures carry no such term.
/// </summary>
public sealed class JobStartLog
{
    private readonly List<(double Created, double Started)> _starts = [];
    private readonly TimeProvider _time;
    private readonly string? _file;

    /// <summary>Writes the file when the host has stopped, after the last run.</summary>
    public JobStartLog(IOptions<JobStartLogOptions> options, TimeProvider time, IHostApplicationLifetime lifetime)
    {
        _time = time;
        _file = string.IsNullOrEmpty(options.Value.File) ? null : options.Value.File;
        if (_file is not null)
        {
            lifetime.ApplicationStopped.Register(Write);
        }
    }

    /// <summary>Notes that <paramref name="job"/>'s handler was called now.</summary>
    public void Note(JobContext job)
    {
        if (_file is null)
        {
            return;
        }

        var startedMs = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalMilliseconds;
        var createdMs = (job.ReadyAt - DateTimeOffset.UnixEpoch).TotalMilliseconds;
        lock (_starts)
        {
            _starts.Add((createdMs, startedMs));
        }
    }

    private void Write()
    {
        var text = new StringBuilder();
        lock (_starts)
        {
            foreach (var (created, started) in _starts)
            {
                text.Append(CultureInfo.InvariantCulture, $"{created:0.###} {started:0.###}\n");
            }
        }

        File.WriteAllText(_file!, text.ToString());
    }
}
