using JobEngine.Running;

namespace JobEngine.Tests;

public sealed class QueueLimitTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;
    private readonly JobClient _client;

    public QueueLimitTests(TestDatabase db)
    {
        _db = db;
        _client = new JobClient(db.App);
    }

    [Fact]
    public async Task A_global_cap_of_3_across_4_workers_is_never_exceeded()
    {
        await _db.ExecuteAsync("CREATE TABLE IF NOT EXISTS public.span (job_id bigint, started_at timestamptz, ended_at timestamptz)");
        var settings = new Dictionary<string, string?> { ["Queues:capped"] = "5", ["Limits:capped:MaxRunning"] = "3" };
        var workers = new List<TestWorker>();
        for (var i = 0; i < 4; i++)
        {
            workers.Add(await TestWorker.StartAsync(_db, settings, s => s.AddJobHandler<SpanHandler, SpanHandler.Args>("span")));
        }

        await _client.EnqueueManyAsync([.. Enumerable.Range(0, 24).Select(_ => NewJob.Create("span", new { ms = 150 }) with { Queue = "capped" })]);
        await _db.WaitForCountAsync("capped", JobState.Completed, 24);
        foreach (var worker in workers)
        {
            await worker.DisposeAsync();
        }

        // The most spans open at any span's start, from the start and end times the handlers wrote.
        var peak = await _db.ScalarAsync<long>(
            "SELECT max((SELECT count(*) FROM public.span o WHERE o.started_at <= s.started_at AND o.ended_at > s.started_at)) FROM public.span s");
        Assert.InRange(peak, 2, 3);
        Assert.Equal(24L, await _db.ScalarAsync<long>("SELECT count(*) FROM public.span"));
    }

    [Fact]
    public async Task A_rate_limit_of_5_per_second_holds_over_every_sliding_window()
    {
        var settings = new Dictionary<string, string?> { ["Queues:rated"] = "10", ["Limits:rated:RateLimit"] = "5", ["Limits:rated:RatePeriod"] = "00:00:01" };
        await using var first = await TestWorker.StartAsync(_db, settings);
        await using var second = await TestWorker.StartAsync(_db, settings);

        await _client.EnqueueManyAsync([.. Enumerable.Range(0, 20).Select(_ => new NewJob("noop") { Queue = "rated" })]);
        await _db.WaitForCountAsync("rated", JobState.Completed, 20);

        var busiestWindow = await _db.ScalarAsync<long>(
            "SELECT max((SELECT count(*) FROM jobs.job_all o WHERE o.queue = 'rated' AND o.attempted_at > s.attempted_at - interval '1 second' AND o.attempted_at <= s.attempted_at)) FROM jobs.job_all s WHERE s.queue = 'rated'");
        Assert.InRange(busiestWindow, 1, 5);
    }

    [Fact]
    public async Task A_killed_workers_slot_is_released_when_its_lease_expires()
    {
        var environment = new Dictionary<string, string>
        {
            ["Jobs__Worker__Queues__slot"] = "2",
            ["Jobs__Worker__Limits__slot__MaxRunning"] = "1",
            ["Jobs__Worker__LeaseDuration"] = "00:00:02",
            ["Jobs__Worker__RescueInterval"] = "00:00:00.500",
        };
        var jobs = await _client.EnqueueManyAsync([.. Enumerable.Range(0, 2).Select(_ => NewJob.Create("sleep", new { ms = 1000 }) with { Queue = "slot" })]);
        using (var doomed = WorkerProcess.Start(_db, environment))
        {
            await _db.WaitForCountAsync("slot", JobState.Running, 1);
            doomed.Kill();
        }

        using var survivor = WorkerProcess.Start(_db, environment);
        await _db.WaitForCountAsync("slot", JobState.Completed, 2, TimeSpan.FromSeconds(90));
        Assert.Equal(3L, await _db.ScalarAsync<long>("SELECT sum(attempt) FROM jobs.job_all WHERE queue = 'slot'"));
    }

    /// <summary>Sleeps, and writes its start and end into a side table as the database's owner.</summary>
    public sealed class SpanHandler(TestDatabase db) : IJobHandler<SpanHandler.Args>
    {
        public sealed record Args(int Ms);

        public async Task HandleAsync(JobContext job, Args args, CancellationToken cancellationToken)
        {
            var started = DateTime.UtcNow;
            await Task.Delay(args.Ms, cancellationToken);
            await db.ExecuteAsync("INSERT INTO public.span VALUES ($1, $2, $3)", job.Id, started, DateTime.UtcNow);
        }
    }
}
