namespace JobEngine.Tests;

public sealed class CrashTests : IClassFixture<TestDatabase>
{
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
        var lease = new Dictionary<string, string>
        {
            ["Jobs__Worker__Queues__crash"] = "4",
            ["Jobs__Worker__LeaseDuration"] = "00:00:02",
            ["Jobs__Worker__RescueInterval"] = "00:00:00.500",
        };
        var jobs = await _client.EnqueueManyAsync([.. Enumerable.Range(0, 4).Select(_ => NewJob.Create("sleep", new { ms = 3000 }) with { Queue = "crash" })]);
        using (var doomed = WorkerProcess.Start(_db, lease))
        {
            await _db.WaitForCountAsync("crash", JobState.Running, 4);
            doomed.Kill();
        }

        var killedAt = DateTime.UtcNow;
        using var survivor = WorkerProcess.Start(_db, lease);
        await _db.WaitForCountAsync("crash", JobState.Completed, 4, TimeSpan.FromSeconds(90));

        foreach (var result in jobs)
        {
            var job = (await _client.GetAsync(result.Job.Id))!;
            Assert.Equal(2, job.Attempt);
            Assert.Contains("LeaseExpired", job.ErrorsJson, StringComparison.Ordinal);
        }

        var rescuedAfter = await _db.ScalarAsync<double>(
            "SELECT extract(epoch FROM min(attempted_at) - $1)::float8 FROM jobs.job_all WHERE queue = 'crash'", killedAt);
        Assert.True(rescuedAfter < 30, $"rescued {rescuedAfter:F1} s after the kill; the lease is 2 s");
    }
}
