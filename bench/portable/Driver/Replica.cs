using System.Diagnostics;

namespace Driver;

/// <summary>
/// Why it exists: one adapter process, launched as the harness launches one: its executable with
/// the protocol's environment, stdin a pipe for ENQUEUE lines, stdout read line by line into the
/// validator, stderr (logs) into a file. It can be SIGKILLed, or SIGTERMed and timed.
/// </summary>
internal sealed class Replica
{
    private readonly Process _process;
    private readonly Task _stdout;
    private readonly StreamWriter _log;
    private readonly Lock _stdinGate = new();
    private bool _stdinBroken;

    private Replica(Process process, int instance, ProtocolValidator validator, StreamWriter log)
    {
        _process = process;
        Instance = instance;
        Validator = validator;
        _log = log;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_log)
                {
                    _log.WriteLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        _stdout = PumpAsync();
    }

    public int Instance { get; }

    public ProtocolValidator Validator { get; }

    public bool Killed { get; private set; }

    public static Replica Start(SystemUnderTest system, int instance, IReadOnlyDictionary<string, string> environment, string database,
        int sampleEverySeconds, SampleStore store, string logPath)
    {
        var info = new ProcessStartInfo(system.Launcher)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.Environment["BENCH_INSTANCE_ID"] = instance.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var validator = new ProtocolValidator(system, database, sampleEverySeconds, instance, DateTimeOffset.UtcNow, store);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {system.Launcher}.");
        return new Replica(process, instance, validator, log);
    }

    /// <summary>Writes one line to the adapter's stdin; false once the pipe is gone (the process died).</summary>
    public bool Send(string line)
    {
        lock (_stdinGate)
        {
            if (_stdinBroken)
            {
                return false;
            }

            try
            {
                _process.StandardInput.WriteLine(line);
                _process.StandardInput.Flush();
                return true;
            }
            catch (IOException)
            {
                _stdinBroken = true;
                return false;
            }
        }
    }

    public bool Running => !_process.HasExited;

    /// <summary>SIGKILL: no chance to flush or release anything.</summary>
    public async Task KillAsync()
    {
        Killed = true;
        _process.Kill();
        await _process.WaitForExitAsync().ConfigureAwait(false);
        await _stdout.ConfigureAwait(false);
    }

    /// <summary>SIGTERM, then waits <paramref name="limit"/>; returns the exit code, or null when it had to be SIGKILLed.</summary>
    public async Task<int?> TerminateAsync(TimeSpan limit)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }

        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await KillAsync().ConfigureAwait(false);
            return null;
        }

        await _stdout.ConfigureAwait(false);
        return _process.ExitCode;
    }

    public void Close()
    {
        Validator.Finish(Killed);
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private async Task PumpAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            Validator.Accept(line, DateTimeOffset.UtcNow);
        }
    }
}
