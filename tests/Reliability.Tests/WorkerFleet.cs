namespace Reliability.Tests;

/// <summary>
/// Why it exists: the chaos run needs N Worker processes alive at all times, the way an orchestrator
/// keeps replicas: one the harness kills is started again at once, and one that dies on its own is
/// started again too but counted, since a Worker should never exit by itself.
/// </summary>
public sealed class WorkerFleet(int size, string connectionString, Dictionary<string, string> environment, TextWriter log) : IDisposable
{
    private readonly WorkerProcess?[] _slots = new WorkerProcess?[size];
    private readonly List<int> _killed = [];

    /// <summary>Process ids of every worker killed with SIGKILL.</summary>
    public IReadOnlyList<int> Killed => _killed;

    /// <summary>Workers started, first ones included.</summary>
    public int Started { get; private set; }

    /// <summary>Workers that exited without being killed.</summary>
    public int UnexpectedExits { get; private set; }

    /// <summary>Starts a worker in every empty slot and in every slot whose worker died on its own.</summary>
    public void Supervise()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is { HasExited: true } dead)
            {
                UnexpectedExits++;
                dead.Dispose();
                _slots[i] = null;
            }

            if (_slots[i] is null)
            {
                _slots[i] = WorkerProcess.Start(connectionString, environment, log);
                Started++;
            }
        }
    }

    /// <summary>The process id of the worker in a random slot, the next one to kill.</summary>
    public int PickVictim() => _slots[Random.Shared.Next(_slots.Length)]?.Pid ?? 0;

    /// <summary>SIGKILLs the worker <paramref name="pid"/>, waits until it is gone, and starts its replacement.</summary>
    public async Task KillAndRestartAsync(int pid)
    {
        var slot = Array.FindIndex(_slots, w => w?.Pid == pid);
        var victim = _slots[slot]!;
        victim.Kill();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await victim.WaitForExitAsync(timeout.Token);
        victim.Dispose();
        _killed.Add(pid);
        _slots[slot] = null;
        Supervise();
    }

    public void Dispose()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i]?.Dispose();
            _slots[i] = null;
        }
    }
}
