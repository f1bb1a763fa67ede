using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Bench;

/// <summary>
/// Why it exists: a fixed-rate load must not slow down when the database does (a closed loop
/// would hide exactly the stalls we measure). After one warm-up job, every 10 ms it sends what the rate owes so far:
/// in batch mode as one insert, in single mode as one insert per job, each started at its due
/// time whether or not earlier ones returned. Each send's latency is counted from its due time.
/// Stops after the given seconds or on SIGTERM, then prints a JSON summary line.
/// </summary>
internal static class OpenLoopProducer
{
    public static async Task<int> RunAsync(int rate, double seconds, bool single, string logFile, Func<int, CancellationToken, Task> send)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        // A contender that cannot take the rate piles up one outsized send after another (Hangfire
        // adds about a hundred jobs a second); 30 s past the end its sends are cancelled and counted
        // as errors, so the producer reports its rate instead of outliving the scenario's wait.
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 30));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        // One job before the clock starts: the process's first send opens its connection and
        // compiles the send path (300 ms and more in a fresh .NET process), and the open loop would
        // owe that time as one outsized insert at the start of the measured window. Best effort:
        // the index-build scenario starts its producer while the schema is rolled back.
        try
        {
            await send(1, giveUp.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await Console.Error.WriteLineAsync($"warm-up send failed: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
        }

        var records = new ConcurrentQueue<(long DueUnixMs, double LatencyMs, bool Ok)>();
        var inFlight = new List<Task>();
        long errors = 0, sent = 0;
        var startUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();

        async Task SendAsync(int count, double dueMs)
        {
            var ok = true;
            try
            {
                await send(count, giveUp.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                ok = false;
                Interlocked.Add(ref errors, count);
                await Console.Error.WriteLineAsync($"enqueue of {count} failed: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            }

            records.Enqueue((startUnixMs + (long)dueMs, clock.Elapsed.TotalMilliseconds - dueMs, ok));
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (!stop.IsCancellationRequested)
        {
            var owed = (long)(clock.Elapsed.TotalSeconds * rate) - sent;
            if (owed > 0 && single)
            {
                for (var i = 0; i < owed; i++)
                {
                    inFlight.Add(SendAsync(1, (sent + i + 1) * 1000.0 / rate));
                }
            }
            else if (owed > 0)
            {
                await SendAsync((int)owed, (sent + owed) * 1000.0 / rate).ConfigureAwait(false);
            }

            sent += Math.Max(owed, 0);
            inFlight.RemoveAll(t => t.IsCompleted);
            try
            {
                await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        await Task.WhenAll(inFlight).ConfigureAwait(false);
        if (logFile.Length > 0)
        {
            await File.WriteAllLinesAsync(logFile, records.Select(r =>
                string.Create(CultureInfo.InvariantCulture, $"{r.DueUnixMs} {r.LatencyMs:0.###} {(r.Ok ? 1 : 0)}"))).ConfigureAwait(false);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"sent":{{sent}},"errors":{{errors}},"seconds":{{elapsed:0.###}},"rate":{{sent / elapsed:0.#}}}"""));
        return 0;
    }
}
