using System.Collections.Concurrent;

namespace JobEngine.Running;

/// <summary>
/// The jobs this process holds a lease on, from claim until their outcome is written. The lease
/// keeper renews them, cancel notifications find them here, and shutdown releases what is left.
/// </summary>
public sealed class RunningJobs
{
    private readonly ConcurrentDictionary<long, RunningJob> _jobs = new();

    /// <summary>How many jobs this process holds.</summary>
    public int Count => _jobs.Count;

    /// <summary>A snapshot of the held jobs.</summary>
    public IReadOnlyList<RunningJob> Snapshot() => [.. _jobs.Values];

    internal void Add(RunningJob job) => _jobs[job.Id] = job;

    internal bool TryGet(long id, out RunningJob job) => _jobs.TryGetValue(id, out job!);

    internal void Remove(long id, int attempt)
    {
        if (_jobs.TryGetValue(id, out var job) && job.Attempt == attempt)
        {
            _jobs.TryRemove(new KeyValuePair<long, RunningJob>(id, job));
        }
    }
}

/// <summary>Why a running job's token was cancelled.</summary>
public enum StopReason
{
    /// <summary>Not stopped.</summary>
    None,
    /// <summary>Someone asked to cancel the job.</summary>
    CancelRequested,
    /// <summary>The lease could not be renewed: another worker may run the job now.</summary>
    LeaseLost,
    /// <summary>The worker is shutting down.</summary>
    Shutdown,
}

/// <summary>One claimed job and the means to stop its handler.</summary>
public sealed class RunningJob(long id, int attempt, string queue, string kind) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private int _reason;
    private bool _handlerDone;

    /// <summary>The job's id.</summary>
    public long Id { get; } = id;
    /// <summary>The attempt this process runs: the fencing token for every write.</summary>
    public int Attempt { get; } = attempt;
    /// <summary>The job's queue.</summary>
    public string Queue { get; } = queue;
    /// <summary>The job's kind.</summary>
    public string Kind { get; } = kind;
    /// <summary>Cancelled when the job must stop.</summary>
    public CancellationToken Token => _stop.Token;
    /// <summary>Why it was stopped, if it was.</summary>
    public StopReason Reason => (StopReason)Volatile.Read(ref _reason);

    /// <summary>True once the handler returned: only its outcome is left to write, so its lease is not renewed.</summary>
    public bool HandlerDone
    {
        get => Volatile.Read(ref _handlerDone);
        internal set => Volatile.Write(ref _handlerDone, value);
    }

    /// <summary>Stops the handler; the first reason given wins.</summary>
    public void Stop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)StopReason.None) == (int)StopReason.None)
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run already ended; nothing left to stop.
            }
        }
    }

    /// <summary>
    /// Cancels <see cref="Token"/> after <paramref name="timeout"/> with no <see cref="Reason"/>, which the run
    /// reports as a timeout. The job's own source is timed, not a linked one made per run: a linked source
    /// cost every job an allocation and a registration on this one.
    /// </summary>
    internal void StopAfter(TimeSpan timeout) => _stop.CancelAfter(timeout);

    /// <inheritdoc />
    public void Dispose() => _stop.Dispose();
}
