namespace JobEngine.Tests;

/// <summary>
/// A fresh connection's first claims and finishes are parsed, planned and sent unprepared; a Worker
/// sends them on its connections before its first heartbeat (WorkerWarmup), so that its first jobs,
/// and a drain that starts once several Workers have registered, do not pay for that.
/// </summary>
public sealed class WorkerWarmupTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;

    public WorkerWarmupTests(TestDatabase db) => _db = db;

    [Fact]
    public async Task A_worker_sends_its_claim_five_times_on_each_connection_before_it_registers()
    {
        const string Claim = "%FOR UPDATE SKIP LOCKED%attempted_by = $3%";
        var before = await _db.AppStatementCallsAsync(Claim);

        await using var worker = await TestWorker.StartAsync(_db, new() { ["WorkerId"] = "warm-worker", ["Queues:warm-up"] = "2" });
        await Eventually.WaitForAsync(
            () => _db.ScalarAsync<long>("SELECT count(*) FROM jobs.worker WHERE worker_id = 'warm-worker'"),
            rows => rows == 1, "the first heartbeat's row");

        // One queue: two connections (its producer's and the completer's), five round trips each, all
        // before the heartbeat; the producer's own first claim may have followed it. Without the
        // warm-up, that first claim is all there is.
        var claims = await _db.AppStatementCallsAsync(Claim) - before;
        Assert.True(claims >= 10, $"{claims} claims were sent by the time the worker registered; the warm-up sends 10");
    }
}
