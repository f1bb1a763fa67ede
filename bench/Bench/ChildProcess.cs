using System.Diagnostics;

namespace Bench;

/// <summary>
/// Why it exists: every contender's worker and producer runs as its own OS process, as it would
/// in production, so its memory is its own (peak RSS from /proc/&lt;pid&gt;/status VmHWM) and a
/// stop is a real SIGTERM. Output goes to a log file under bench/results/tmp for post-mortems.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private static readonly List<ChildProcess> Live = [];
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly List<string> _lines = [];

    private ChildProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public int Id => _process.Id;

    /// <summary>When it was started (Unix ms), to tell its own signs of life from older ones.</summary>
    public long StartedUnixMs { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(string fileName, IEnumerable<string> args, string workingDirectory, IDictionary<string, string> environment, string logFile)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process, log);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Start();
        lock (Live)
        {
            Live.Add(child);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
            _log.WriteLine(line);
        }
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Peak resident set size so far, in MB (VmHWM), or 0 once the process is gone.</summary>
    public double PeakRssMb()
    {
        try
        {
            var line = File.ReadLines($"/proc/{Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public async Task WaitForLineAsync(string text, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Poll.UntilAsync(() => Task.FromResult(Lines.Any(l => l.Contains(text, StringComparison.Ordinal))), timeout, $"process {Id} to print '{text}'", cancellationToken, [this]).ConfigureAwait(false);
    }

    /// <summary>Runs to completion; a non-zero exit is an error that names the command and its last output.</summary>
    public async Task<IReadOnlyList<string>> WaitForSuccessAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Describe()} did not finish within {timeout}.");
        }

        return _process.ExitCode == 0
            ? Lines
            : throw new InvalidOperationException($"{Describe()} exited with code {_process.ExitCode}: {string.Join(" | ", Lines.TakeLast(8))}");
    }

    /// <summary>SIGTERM, as an orchestrator stops a service; after <paramref name="grace"/>, SIGKILL.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }

        using var limit = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public string Describe() => $"'{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}' (pid {Id})";

    /// <summary>Kills whatever is still running, so a failed run leaves no worker behind.</summary>
    public static void KillAll()
    {
        lock (Live)
        {
            foreach (var child in Live.ToList())
            {
                child.Dispose();
            }
        }
    }

    public void Dispose()
    {
        lock (Live)
        {
            Live.Remove(this);
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        lock (_lines)
        {
            _log.Dispose();
        }
    }
}
