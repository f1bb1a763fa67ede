namespace JobEngine.Tests;

public sealed class CrashTests : IClassFixture<TestDatabase>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RescueInterval = TimeSpan.FromMilliseconds(500);

    private readonly TestDatabase _db;
    private readonly JobClient _client;

    public CrashTests(TestDatabase db)
    {
        _db = db;
        _client = new JobClient(db.App);
    }

    [Fact]
    public async Task Jobs_of_a_worker_killed_with_sigkill_are_rescued_within_about_a_lease_and_completed_by_another()
    {
        static Dictionary<string, string> Worker(string id) => new()
        {
            ["Jobs__Worker__WorkerId"] = id,
            ["Jobs__Worker__Queues__crash"] = "4",
            ["Jobs__Worker__LeaseDuration"] = Lease.ToString(),
            ["Jobs__Worker__RescueInterval"] = RescueInterval.ToString(),
        };
        // Jobs that outlast any start-up, so the doomed worker still runs them when the survivor is up.
        var jobs = await _client.EnqueueManyAsync([.. Enumerable.Range(0, 4).Select(_ => NewJob.Create("sleep", new { ms = 600_000 }) with { Queue = "crash" })]);
        using var doomed = WorkerProcess.Start(_db, Worker("doomed"));
        await _db.WaitForCountAsync("crash", JobState.Running, 4);

        // The survivor is up and idle before the kill (its kinds registered means it has started
        // claiming), so what is measured is the rescue, not a process start. The doomed worker read
        // its arguments at claim; the second attempts read these and finish at once.
        using var survivor = WorkerProcess.Start(_db, Worker("survivor"));
        await Eventually.WaitForAsync(() => _db.ScalarAsync<long>("SELECT count(*) FROM jobs.kind WHERE worker = 'survivor'"), n => n > 0, "the survivor to register its kinds", TimeSpan.FromMinutes(3));
        await _db.ExecuteAsync("""UPDATE jobs.job SET args = '{"ms":100}' WHERE queue = 'crash'""");
        doomed.Kill();
        await doomed.WaitForExitAsync(CancellationToken.None);

        // The last leases the killed worker wrote: nothing renews them any more.
        var killedAt = await _db.ScalarAsync<DateTime>("SELECT now()");
        var leaseEnd = await _db.ScalarAsync<DateTime>("SELECT max(lease_expires_at) FROM jobs.job WHERE queue = 'crash'");
        Assert.True(leaseEnd - killedAt <= Lease, $"a lease ran {(leaseEnd - killedAt).TotalSeconds:F2} s past the kill; it is {Lease.TotalSeconds} s");
        await _db.WaitForCountAsync("crash", JobState.Completed, 4, TimeSpan.FromSeconds(90));

        foreach (var result in jobs)
        {
            var job = (await _client.GetAsync(result.Job.Id))!;
            Assert.Equal(2, job.Attempt);
            Assert.Contains("LeaseExpired", job.ErrorsJson, StringComparison.Ordinal);
            Assert.Equal("survivor", await _db.ScalarAsync<string>("SELECT attempted_by FROM jobs.job_all WHERE id = $1", job.Id));
        }

        // After the lease runs out, the survivor's rescuer looks every RescueInterval, the rescued
        // job waits out the first retry delay a failed attempt would get (RetryPolicy: 1 s, +20 %
        // jitter at most), and the claim follows; one second on top covers a loaded machine. A
        // rescue that waited for anything longer (a second lease, a poll) overshoots it. So the
        // jobs run again within about a lease of the kill.
        var rescueDelay = await _db.ScalarAsync<double>(
            "SELECT extract(epoch FROM max(attempted_at) - $1::timestamptz)::float8 FROM jobs.job_all WHERE queue = 'crash'", leaseEnd);
        var firstRetryDelay = TimeSpan.FromSeconds(1.2);
        var bound = (RescueInterval + RescueInterval + firstRetryDelay + TimeSpan.FromSeconds(1)).TotalSeconds;
        Assert.True(rescueDelay <= bound, $"the last job restarted {rescueDelay:F2} s after its lease ran out; the rescue interval of {RescueInterval.TotalSeconds} s and the first retry delay allow {bound} s");
    }
}
