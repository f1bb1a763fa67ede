using System.Diagnostics;
using Npgsql;

namespace Driver;

/// <summary>
/// Why it exists: one system through the whole run, as the public harness would drive it: a fresh
/// database, replica 0 launched and paced over stdin, a warm-up, then the phases (clean; an idle-in-transaction
/// holder with an XID; recovery; a second replica started, SIGKILLed halfway and restarted), a drain
/// until every enqueued job completed (or a time limit), SIGTERM to each replica (exit 0 within
/// 5 s), and the count of jobs lost.
/// </summary>
internal sealed class SystemRun(SystemUnderTest system, DriverOptions options, string ownerConnection, string workDir)
{
    private static readonly TimeSpan DescriptorLimit = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan TermLimit = TimeSpan.FromSeconds(5);
    // A SIGKILLed replica's jobs come back after a 30 s lease (ours) or expiry (pg-boss's, set to match), then a retry.
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(120);

    private readonly SampleStore _store = new();
    private readonly List<Replica> _replicas = [];
    private readonly Lock _gate = new();

    public async Task<SystemResult> RunAsync(CancellationToken cancellationToken)
    {
        var database = $"portable_{system.Name}_{DateTime.UtcNow:yyyyMMddHHmmss}";
        var admin = new NpgsqlConnectionStringBuilder(ownerConnection) { Database = "postgres" }.ConnectionString;
        var owner = new NpgsqlConnectionStringBuilder(ownerConnection) { Database = database, ApplicationName = "portable-driver" };
        await ExecuteAsync(admin, $"CREATE DATABASE \"{database}\"", cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunInAsync(database, owner, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<SystemResult> RunInAsync(string database, NpgsqlConnectionStringBuilder owner, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = $"postgres://{Uri.EscapeDataString(owner.Username!)}:{Uri.EscapeDataString(owner.Password!)}@{owner.Host}:{owner.Port}/{database}",
            ["SCENARIO"] = "long_horizon",
            ["PRODUCER_MODE"] = "fixed",
            ["PRODUCER_RATE"] = $"{options.Rate}",
            ["WORKER_COUNT"] = $"{options.Workers}",
            ["JOB_PAYLOAD_BYTES"] = "256",
            ["JOB_WORK_MS"] = "1",
            ["SAMPLE_EVERY_S"] = $"{options.SampleEverySeconds}",
        };
        var phaseLength = TimeSpan.FromSeconds(options.DurationSeconds / 4.0);
        Say($"database {database}; {options.Rate} jobs/s over stdin, {options.Workers} workers, 4 phases of {phaseLength.TotalSeconds:F0} s, samples every {options.SampleEverySeconds} s");

        await LaunchAsync(0, environment, database).ConfigureAwait(false);
        var pacer = new StdinPacer(options.Rate, LiveReplicas);
        using var stopPacing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pacing = pacer.RunAsync(stopPacing.Token);

        // As the harness's warm-up phase: start-up and JIT are not part of the clean phase's figures.
        var warmUp = WarmUp(options);
        Say($"warm-up ({warmUp.TotalSeconds:F0} s, not reported)");
        await Task.Delay(warmUp, cancellationToken).ConfigureAwait(false);

        var windows = new List<PhaseWindow>();
        foreach (var phase in Enum.GetValues<Phase>())
        {
            var start = DateTimeOffset.UtcNow;
            Say($"phase {phase} ({phaseLength.TotalSeconds:F0} s)");
            await RunPhaseAsync(phase, phaseLength, owner.ConnectionString, environment, database, cancellationToken).ConfigureAwait(false);
            windows.Add(new PhaseWindow(phase, start, DateTimeOffset.UtcNow, await DeadTuplesAsync(owner.ConnectionString, cancellationToken).ConfigureAwait(false)));
        }

        await stopPacing.CancelAsync().ConfigureAwait(false);
        await pacing.ConfigureAwait(false);
        var (enqueued, completed, drainSeconds) = await DrainAsync(owner.ConnectionString, cancellationToken).ConfigureAwait(false);
        await TerminateAllAsync().ConfigureAwait(false);

        var samples = _store.Samples();
        var result = new SystemResult(system.Name, windows.Select(w => PhaseFigures.From(w, samples)).ToList(), enqueued, completed, drainSeconds, _store.Violations());
        Say($"{pacer.Sent} jobs asked for, {enqueued} enqueued, {completed} completed after a {drainSeconds:F0} s drain: {result.Lost} lost; {result.Violations.Count} protocol violations");
        return result;
    }

    /// <summary>An eighth of the phases' length, at least 5 s.</summary>
    public static TimeSpan WarmUp(DriverOptions options) => TimeSpan.FromSeconds(Math.Max(5, options.DurationSeconds / 8));

    private async Task RunPhaseAsync(Phase phase, TimeSpan length, string owner, Dictionary<string, string> environment, string database, CancellationToken cancellationToken)
    {
        switch (phase)
        {
            case Phase.IdleInTransaction:
                await using (var holder = await IdleTransactionHolder.BeginAsync(owner, cancellationToken).ConfigureAwait(false))
                {
                    Say($"holding transaction {holder.TransactionId} idle");
                    await Task.Delay(length, cancellationToken).ConfigureAwait(false);
                }

                break;
            case Phase.ReplicaKill:
                var started = Stopwatch.GetTimestamp();
                await LaunchAsync(1, environment, database).ConfigureAwait(false);
                var half = length / 2 - Stopwatch.GetElapsedTime(started);
                await Task.Delay(half > TimeSpan.Zero ? half : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                var victim = LiveReplicas().Single(r => r.Instance == 1);
                Say("SIGKILL replica 1, then restart it");
                await victim.KillAsync().ConfigureAwait(false);
                await LaunchAsync(1, environment, database).ConfigureAwait(false);
                var rest = length - Stopwatch.GetElapsedTime(started);
                await Task.Delay(rest > TimeSpan.Zero ? rest : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                break;
            default:
                await Task.Delay(length, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Starts a replica and waits for its descriptor (at most 60 s, as the harness does).</summary>
    private async Task LaunchAsync(int instance, Dictionary<string, string> environment, string database)
    {
        var replica = Replica.Start(system, instance, environment, database, options.SampleEverySeconds, _store,
            Path.Combine(workDir, $"{system.Name}-{instance}.log"));
        lock (_gate)
        {
            _replicas.Add(replica);
        }

        using var limit = new CancellationTokenSource(DescriptorLimit);
        try
        {
            await replica.Validator.Descriptor.WaitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"{system.Name} replica {instance} wrote no valid descriptor within {DescriptorLimit.TotalSeconds:F0} s; see {workDir}/{system.Name}-{instance}.log");
        }
    }

    private IReadOnlyList<Replica> LiveReplicas()
    {
        lock (_gate)
        {
            return _replicas.Where(r => !r.Killed && r.Running && r.Validator.Descriptor.IsCompletedSuccessfully).ToList();
        }
    }

    private async Task<(long Enqueued, long Completed, double Seconds)> DrainAsync(string owner, CancellationToken cancellationToken)
    {
        Say("draining: waiting until every enqueued job completed");
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var (enqueued, completed) = await CountsAsync(owner, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (enqueued == completed || elapsed > DrainLimit)
            {
                return (enqueued, completed, elapsed.TotalSeconds);
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task TerminateAllAsync()
    {
        List<Replica> all;
        lock (_gate)
        {
            all = [.. _replicas];
        }

        foreach (var replica in all.Where(r => !r.Killed))
        {
            var started = Stopwatch.GetTimestamp();
            var code = await replica.TerminateAsync(TermLimit).ConfigureAwait(false);
            if (code != 0)
            {
                _store.Violation(code is null
                    ? $"{system.Name} #{replica.Instance} did not exit within {TermLimit.TotalSeconds:F0} s of SIGTERM"
                    : $"{system.Name} #{replica.Instance} exited with {code} after SIGTERM (expected 0)");
            }
            else
            {
                Say($"replica {replica.Instance} exited 0, {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s after SIGTERM");
            }
        }

        foreach (var replica in all)
        {
            replica.Close();
        }
    }

    private async Task<long> DeadTuplesAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(DriverSql.Get("DeadTuples"), connection);
        command.Parameters.Add(new() { Value = system.Manifest.EventTables.ToArray() });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private async Task<(long Enqueued, long Completed)> CountsAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(DriverSql.Get(system.CountsQuery), connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt64(reader.GetOrdinal("enqueued")), reader.GetInt64(reader.GetOrdinal("completed")));
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // A database name cannot be a parameter; this one is made above from fixed parts.
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Say(string message) => Console.WriteLine($"[portable] {system.Name}: {message}");
}
