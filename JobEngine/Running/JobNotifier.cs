using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: a worker should start a job milliseconds after it is enqueued, not at the next
/// poll. It holds one dedicated connection that LISTENs to <c>jobs_inserted</c> (payload: queue)
/// and <c>jobs_cancel</c> (payload: job id). Notifications are only a hint: the producers poll
/// anyway, so a lost notification delays a job by one poll at most. The connection proves it still
/// listens whenever it has been quiet (a half-open TCP connection would otherwise hide forever),
/// reconnects by itself, and after every (re)connect wakes all producers, since notifications sent
/// while it was away are gone.
/// </summary>
public sealed class JobNotifier(
    ListenConnectionFactory connection,
    IOptions<JobWorkerOptions> options,
    RunningJobs runningJobs,
    ILogger<JobNotifier> logger)
{
    /// <summary>The channel the insert trigger notifies, with the queue as payload.</summary>
    public const string InsertedChannel = "jobs_inserted";

    /// <summary>The channel a cancel request notifies, with the job id as payload.</summary>
    public const string CancelChannel = "jobs_cancel";

    private readonly Dictionary<string, Action> _wakeByQueue = new(StringComparer.Ordinal);
    private int _connectedBackendPid;

    /// <summary>True while the listening connection is up and proven to listen.</summary>
    public bool IsListening { get; private set; }

    /// <summary>The server process id of the listening connection, 0 when not connected.</summary>
    public int ListenerBackendPid => Volatile.Read(ref _connectedBackendPid);

    /// <summary>Registers the callback that wakes the producer of <paramref name="queue"/>.</summary>
    public void OnInserted(string queue, Action wake) => _wakeByQueue[queue] = wake;

    /// <summary>Listens until <paramref name="stoppingToken"/> fires, reconnecting after any failure.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.UseListenNotify)
        {
            logger.LogWarning("LISTEN/NOTIFY is off (Jobs:Worker:UseListenNotify=false): jobs are found by polling every {PollInterval}.", options.Value.PollInterval);
            return;
        }

        var backoff = new RetryBackoff();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or IOException)
            {
                IsListening = false;
                Volatile.Write(ref _connectedBackendPid, 0);
                var delay = backoff.Next();
                logger.LogWarning(e, "The LISTEN connection failed; polling every {PollInterval} until it is back, reconnecting in {Delay}.", options.Value.PollInterval, delay);
                WakeAll();
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                continue;
            }

            backoff.Reset();
        }

        IsListening = false;
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var listener = connection.ForListening();
        await using var listenerScope = listener.ConfigureAwait(false);
        listener.Notification += OnNotification;
        await listener.OpenAsync(stoppingToken).ConfigureAwait(false);
        var listen = new NpgsqlCommand($"LISTEN {InsertedChannel}; LISTEN {CancelChannel}", listener);
        await using (listen.ConfigureAwait(false))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
        }

        IsListening = true;
        Volatile.Write(ref _connectedBackendPid, listener.ProcessID);
        logger.LogInformation("Listening for new jobs on {Channel} (server process {Pid}).", InsertedChannel, listener.ProcessID);
        WakeAll();

        while (!stoppingToken.IsCancellationRequested)
        {
            if (!await listener.WaitAsync(options.Value.ListenerCheckInterval, stoppingToken).ConfigureAwait(false))
            {
                await ProveStillListeningAsync(listener, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task ProveStillListeningAsync(NpgsqlConnection listener, CancellationToken stoppingToken)
    {
        var check = new NpgsqlCommand("SELECT count(*) FROM pg_listening_channels() AS c WHERE c IN ($1, $2)", listener);
        await using var checkScope = check.ConfigureAwait(false);
        check.Parameters.Add(new() { Value = InsertedChannel });
        check.Parameters.Add(new() { Value = CancelChannel });
        check.CommandTimeout = 5;
        var channels = (long)(await check.ExecuteScalarAsync(stoppingToken).ConfigureAwait(false))!;
        if (channels != 2)
        {
            throw new InvalidOperationException($"The listening connection listens to {channels} of 2 channels.");
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (e.Channel == InsertedChannel)
        {
            if (_wakeByQueue.TryGetValue(e.Payload, out var wake))
            {
                wake();
            }
        }
        else if (e.Channel == CancelChannel && long.TryParse(e.Payload, out var id) && runningJobs.TryGet(id, out var job))
        {
            job.Stop(StopReason.CancelRequested);
        }
    }

    private void WakeAll()
    {
        foreach (var wake in _wakeByQueue.Values)
        {
            wake();
        }
    }
}
