using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace JobEngine.Tests;

/// <summary>
/// The rescue sweep reads the live table (no index holds running jobs), so it runs only when it can
/// find something: when a worker has been silent for a lease, and on the backstop timer, whose first
/// turn comes one interval after start (a Worker starting on a backlog does not read all of it).
/// </summary>
public sealed class RescueGateTests : IClassFixture<TestDatabase>
{
    private const string Queue = "rescue-gate";
    private readonly TestDatabase _db;

    public RescueGateTests(TestDatabase db) => _db = db;

    [Fact]
    public async Task The_sweep_waits_for_a_silent_worker_or_the_backstop_and_not_for_a_start()
    {
        var backstop = TimeSpan.FromMinutes(1);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var rescuer = new JobRescuer(_db.App, Options.Create(new JobWorkerOptions { RescueBackstopInterval = backstop }),
            clock, NullLogger<JobRescuer>.Instance);
        await _db.ExecuteAsync("INSERT INTO jobs.worker (worker_id, queues, lease_ms) VALUES ('gate-worker', '{rescue-gate}', 30000)");

        // Just started, and every worker heartbeats: the expired lease waits for the backstop.
        var first = await InsertExpiredRunningJobAsync();
        await rescuer.RescueIfDueAsync(CancellationToken.None);
        Assert.Equal("running", await StateAsync(first));

        // The backstop's first turn, one interval after start.
        clock.Advance(backstop);
        await rescuer.RescueIfDueAsync(CancellationToken.None);
        Assert.Equal("retryable", await StateAsync(first));
        Assert.Equal("LeaseExpired gate-worker", await _db.ScalarAsync<string>(
            "SELECT (errors -> -1 ->> 'type') || ' ' || coalesce(errors -> -1 ->> 'worker', 'none') FROM jobs.job_all WHERE id = $1", first));

        // The next backstop is an interval away: a heartbeating worker's expired lease waits again.
        var second = await InsertExpiredRunningJobAsync();
        await rescuer.RescueIfDueAsync(CancellationToken.None);
        Assert.Equal("running", await StateAsync(second));

        // Silent for more than its lease: swept at once, and remembered until two leases have passed.
        await _db.ExecuteAsync("UPDATE jobs.worker SET heartbeat_at = now() - interval '31 seconds' WHERE worker_id = 'gate-worker'");
        await rescuer.RescueIfDueAsync(CancellationToken.None);
        Assert.Equal("retryable", await StateAsync(second));
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.worker WHERE worker_id = 'gate-worker'"));

        await _db.ExecuteAsync("UPDATE jobs.worker SET heartbeat_at = now() - interval '61 seconds' WHERE worker_id = 'gate-worker'");
        await rescuer.RescueIfDueAsync(CancellationToken.None);
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.worker WHERE worker_id = 'gate-worker'"));
    }

    [Fact]
    public async Task A_running_worker_heartbeats_with_its_queues_and_removes_itself_when_it_stops()
    {
        await using (var worker = await TestWorker.StartAsync(_db, new() { ["WorkerId"] = "heartbeat-worker", [$"Queues:{Queue}"] = "2" }))
        {
            // Written with its kinds, before the first claim.
            await Eventually.WaitForAsync(
                () => _db.ScalarAsync<string>("SELECT coalesce(max(queues::text), '') FROM jobs.worker WHERE worker_id = 'heartbeat-worker' AND heartbeat_at > now() - lease_ms * interval '1 millisecond'"),
                queues => queues == $"{{{Queue}}}", "the worker's heartbeat row with its queue");
            await Eventually.WaitForAsync(() => RegistrationHealthAsync(worker), h => h == HealthStatus.Healthy, "the worker healthy once registered");
            await worker.StopAsync();
        }

        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.worker WHERE worker_id = 'heartbeat-worker'"));
    }

    [Fact]
    public async Task A_registering_worker_reports_unhealthy_and_when_stopped_removes_the_row_its_first_heartbeat_wrote()
    {
        // The queue limits are read after the first heartbeat commits; holding their table keeps the
        // worker inside registration while it is stopped.
        await using var connection = await _db.Owner.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockLimits = new Npgsql.NpgsqlCommand("LOCK TABLE jobs.queue_limit IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await lockLimits.ExecuteNonQueryAsync();
        }

        await using (var worker = await TestWorker.StartAsync(_db, new() { ["WorkerId"] = "registering-worker", [$"Queues:{Queue}"] = "2" }))
        {
            await Eventually.WaitForAsync(
                () => _db.ScalarAsync<long>("SELECT count(*) FROM jobs.worker WHERE worker_id = 'registering-worker'"),
                rows => rows == 1, "the first heartbeat's row");
            Assert.Equal(HealthStatus.Unhealthy, await RegistrationHealthAsync(worker));
            await worker.StopAsync();
        }

        await transaction.RollbackAsync();
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.worker WHERE worker_id = 'registering-worker'"));
    }

    private static async Task<HealthStatus> RegistrationHealthAsync(TestWorker worker) =>
        (await worker.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Name == "worker-registration")).Status;

    private Task<long> InsertExpiredRunningJobAsync() => _db.ScalarAsync<long>(
        """
        INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, attempt, attempted_at, attempted_by, lease_expires_at)
        VALUES ('running', $1, 'noop', '{}', 1, 5, now() - interval '1 minute', 1, now() - interval '1 minute', 'gate-worker', now() - interval '1 second')
        RETURNING id
        """, Queue);

    private Task<string> StateAsync(long id) => _db.ScalarAsync<string>("SELECT state::text FROM jobs.job_all WHERE id = $1", id);
}
