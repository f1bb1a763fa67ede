using System.Diagnostics;

namespace Driver;

/// <summary>
/// Why it exists: the harness paces producers itself, writing <c>ENQUEUE n</c> lines to their
/// stdin; so does the driver. Every 25 ms it owes the rate times the real elapsed time, minus
/// what it sent, and hands it out in tokens of at most 128 jobs, round robin over the replicas
/// that are up (a killed replica's share goes to the others).
/// </summary>
internal sealed class StdinPacer(int rate, Func<IReadOnlyList<Replica>> replicas)
{
    private const int TokenMax = 128;

    /// <summary>Jobs asked for in ENQUEUE lines that reached a replica.</summary>
    public long Sent { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var next = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var owed = (long)(rate * Stopwatch.GetElapsedTime(started).TotalSeconds) - Sent;
                var live = replicas();
                while (owed > 0 && live.Count > 0)
                {
                    var n = (int)Math.Min(owed, TokenMax);
                    if (live[next++ % live.Count].Send($"ENQUEUE {n}"))
                    {
                        Sent += n;
                        owed -= n;
                    }
                    else
                    {
                        live = replicas();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The phases are over.
        }
    }
}
