using System.Globalization;

namespace Bench;

/// <summary>
/// Why it exists: when our Worker misses a target, "what limits it" needs the Worker's own side
/// too: how much its CPU went to allocation and garbage collection, the JIT, exceptions or lock
/// contention, which its CPU per job alone cannot say. dotnet-counters (bench/run.sh installs it
/// into .tools/) samples the runtime's System.Runtime counters from outside the process once a
/// second; only the seconds that lie wholly inside the drain are kept. Sampling costs the Worker
/// CPU, so it runs in a drain of its own whose rate is not reported. Without the tool the figures
/// are simply absent.
/// </summary>
internal sealed class RuntimeProfile(ChildProcess collector, string csvFile)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The unit of one of <see cref="PerJobAsync"/>'s figures, from its name.</summary>
    public static string Unit(string metric) => metric switch
    {
        _ when metric.EndsWith("_percent", StringComparison.Ordinal) => "% of wall time",
        _ when metric.EndsWith("_seconds", StringComparison.Ordinal) => "s",
        _ when metric.EndsWith("_bytes_per_job", StringComparison.Ordinal) => "B",
        _ when metric.EndsWith("_per_s", StringComparison.Ordinal) => "per s",
        _ => "per job",
    };

    /// <summary>
    /// Starts sampling process <paramref name="pid"/> and returns once the session runs; null when
    /// BENCH_DOTNET_COUNTERS names no tool or the session did not start. Attach only to a process
    /// that has finished starting: a counter session opened while the runtime initializes can
    /// deadlock it (dotnet/runtime#119014; a Worker once never registered in the quick benchmark).
    /// </summary>
    public static async Task<RuntimeProfile?> AttachAsync(int pid, string csvFile, CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable("BENCH_DOTNET_COUNTERS") is not { Length: > 0 } tool || !File.Exists(tool))
        {
            return null;
        }

        File.Delete(csvFile);
        var collector = ChildProcess.Start(tool,
            ["collect", "-p", pid.ToString(Inv), "--format", "csv", "-o", csvFile, "--refresh-interval", "1", "--counters", "System.Runtime"],
            Path.GetDirectoryName(csvFile)!, new Dictionary<string, string>(), csvFile + ".log");
        try
        {
            // The CSV is written when the collector stops; its console says when the session started.
            await Poll.UntilAsync(() => Task.FromResult(collector.Lines.Any(l => l.StartsWith("Starting a counter session", StringComparison.Ordinal))),
                TimeSpan.FromSeconds(15), "dotnet-counters to start its session", cancellationToken, [collector]).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Console.WriteLine($"[bench] no runtime counters this run: {e.Message}");
            collector.Dispose();
            return null;
        }

        return new RuntimeProfile(collector, csvFile);
    }

    /// <summary>
    /// Once the sampled process has exited (the collector then stops by itself): the counters per
    /// job over the whole seconds between <paramref name="from"/> and <paramref name="to"/> (local
    /// time, as dotnet-counters stamps its rows), given the drain's rate; empty when none was whole.
    /// </summary>
    public async Task<Dictionary<string, double>> PerJobAsync(DateTime from, DateTime to, double jobsPerSecond)
    {
        try
        {
            await collector.WaitForSuccessAsync(TimeSpan.FromSeconds(15), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // It was stopped or failed: whatever it wrote is still read.
        }
        finally
        {
            collector.Dispose();
        }

        if (!File.Exists(csvFile))
        {
            return [];
        }

        // Each row: timestamp (end of its one-second interval), provider, counter, type, value.
        var rows = File.ReadLines(csvFile).Skip(1).Select(line => line.Split(','))
            .Where(f => f.Length == 5 && DateTime.TryParseExact(f[0], "MM/dd/yyyy HH:mm:ss", Inv, DateTimeStyles.None, out var at)
                && at > from.AddSeconds(1) && at <= to)
            .Select(f => (At: f[0], Counter: f[2], Value: double.Parse(f[4], Inv)))
            .ToList();
        var seconds = rows.Select(r => r.At).Distinct().Count();
        if (seconds == 0)
        {
            return [];
        }

        double PerSecond(string prefix) => rows.Where(r => r.Counter.StartsWith(prefix, StringComparison.Ordinal)).Sum(r => r.Value) / seconds;
        return new()
        {
            ["worker_sampled_seconds"] = seconds,
            ["worker_alloc_bytes_per_job"] = PerSecond("dotnet.gc.heap.total_allocated") / jobsPerSecond,
            ["worker_gc_pause_percent"] = PerSecond("dotnet.gc.pause.time") * 100,
            ["worker_gen0_gcs_per_s"] = PerSecond("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen0]"),
            ["worker_gen1_gcs_per_s"] = PerSecond("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen1]"),
            ["worker_gen2_gcs_per_s"] = PerSecond("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen2]"),
            ["worker_jit_percent"] = PerSecond("dotnet.jit.compilation.time") * 100,
            ["worker_exceptions_per_s"] = PerSecond("dotnet.exceptions"),
            ["worker_lock_contentions_per_s"] = PerSecond("dotnet.monitor.lock_contentions"),
            ["worker_threadpool_items_per_job"] = PerSecond("dotnet.thread_pool.work_item.count") / jobsPerSecond,
        };
    }
}
