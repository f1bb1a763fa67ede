using System.Collections.Concurrent;
using System.Text.Json;
using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace JobEngine.Tests;

/// <summary>
/// Batches on a real database with real Workers: the callback runs exactly once, after every job
/// of its batch is finalized, with the counts of how they ended; an open batch takes jobs and never
/// fires before it is sealed; the finishing paths of the Worker, the rescuer and cancel all count,
/// with or without history; a retried job counts once.
/// </summary>
[Collection(WorkflowMachineryCollection.Name)]
public sealed class BatchTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;
    private readonly JobClient _client;
    private readonly ITestOutputHelper _output;

    public BatchTests(TestDatabase db, ITestOutputHelper output)
    {
        _db = db;
        _client = new JobClient(db.App);
        _output = output;
    }

    [Fact]
    public async Task The_callback_runs_once_after_every_job_with_the_counts_of_completed_discarded_and_cancelled()
    {
        using var counters = new WorkflowCounters();
        var log = new BatchLog();
        await using var worker = await StartWorkerAsync("b-counts", log);
        var jobs = new List<NewJob>();
        jobs.AddRange(Enumerable.Range(0, 5).Select(i => Member("b-counts", $"ok{i}")));
        jobs.AddRange(Enumerable.Range(0, 2).Select(i => Member("b-counts", $"bad{i}", failUntilAttempt: 2)));
        jobs.Add(Member("b-counts", "later") with { RunAt = DateTimeOffset.UtcNow.AddHours(1) });

        var batch = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-counts", "counts"), jobs) { Name = "counts" });
        Assert.Equal(BatchState.Sealed, batch.State);
        Assert.Equal(JobState.Pending, (await _client.GetAsync(batch.CallbackJobId))!.State);
        await Eventually.WaitForAsync(() => _db.CountAsync("b-counts", JobState.Discarded), n => n == 2, "the failing jobs to be discarded");
        Assert.Equal(JobActionOutcome.Done, (await _client.CancelAsync(batch.JobIds[^1])).Outcome);
        var done = await WaitUntilCallbackFinishedAsync(batch.BatchId);

        Assert.Equal(new BatchOutcome(batch.BatchId, 8, 5, 2, 1), log.Single("counts"));
        Assert.Equal(JobState.Completed, done.CallbackState);
        Assert.Equal((8, 5, 2, 1, BatchState.Fired), (done.Total, done.Completed, done.Discarded, done.Cancelled, done.State));
        // A fired callback is not a workflow step.
        Assert.Equal(0, counters["job.workflow.steps.released"]);
        var callbackStarted = await _db.ScalarAsync<DateTime>("SELECT attempted_at FROM jobs.job_history WHERE id = $1", batch.CallbackJobId);
        var lastJob = await _db.ScalarAsync<DateTime>("SELECT max(finalized_at) FROM jobs.job_history WHERE id = ANY ($1)", batch.JobIds.ToArray());
        Assert.True(lastJob <= callbackStarted, $"the callback started at {callbackStarted:O}, before the last job finished at {lastJob:O}");
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task Many_jobs_finishing_at_once_on_three_workers_fire_the_callback_exactly_once_with_every_job_counted()
    {
        var log = new BatchLog();
        await using var first = await StartWorkerAsync("b-race", log, concurrency: 16);
        await using var second = await StartWorkerAsync("b-race", log, concurrency: 16);
        await using var third = await StartWorkerAsync("b-race", log, concurrency: 16);

        var batch = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-race", "race"), [.. Enumerable.Range(0, 3000).Select(i => Member("b-race", $"m{i}"))]));
        await WaitUntilCallbackFinishedAsync(batch.BatchId, TimeSpan.FromMinutes(3));

        Assert.Equal(new BatchOutcome(batch.BatchId, 3000, 3000, 0, 0), log.Single("race"));
        var workers = await _db.ScalarAsync<long>("SELECT count(DISTINCT attempted_by) FROM jobs.job_history WHERE id = ANY ($1)", batch.JobIds.ToArray());
        Assert.True(workers > 1, $"the jobs ran on {workers} worker(s): no concurrent finishers");
        Assert.Equal(1, await _db.ScalarAsync<short>("SELECT attempt FROM jobs.job_history WHERE id = $1", batch.CallbackJobId));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task An_open_batch_takes_jobs_and_never_fires_until_it_is_sealed_and_a_sealed_one_takes_none()
    {
        var log = new BatchLog();
        await using var worker = await StartWorkerAsync("b-open", log);
        var batch = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-open", "open"), [Member("b-open", "a"), Member("b-open", "b")]) { Open = true });
        Assert.Equal(BatchState.Open, batch.State);
        await Eventually.WaitForAsync(() => _client.GetBatchAsync(batch.BatchId), b => b!.Finished == 2, "the first two jobs to finish");

        var added = await _client.AddToBatchAsync(batch.BatchId, [Member("b-open", "c"), Member("b-open", "d"), Member("b-open", "e", failUntilAttempt: 2)]);
        Assert.Equal(BatchChangeOutcome.Done, added.Outcome);
        Assert.Equal(3, added.JobIds.Count);
        await Eventually.WaitForAsync(() => _client.GetBatchAsync(batch.BatchId), b => b!.Finished == 5, "every job to finish");
        var waiting = await _client.GetBatchAsync(batch.BatchId);
        Assert.Equal((BatchState.Open, JobState.Pending, 5), (waiting!.State, waiting.CallbackState, waiting.Total));
        Assert.Equal(0, log.Runs("open"));

        var sealedNow = await _client.SealBatchAsync(batch.BatchId);
        await WaitUntilCallbackFinishedAsync(batch.BatchId);
        var late = await _client.AddToBatchAsync(batch.BatchId, [Member("b-open", "too-late")]);
        var sealedAgain = await _client.SealBatchAsync(batch.BatchId);

        Assert.Equal((BatchChangeOutcome.Done, BatchState.Fired), (sealedNow.Outcome, sealedNow.Batch!.State));
        Assert.Equal(new BatchOutcome(batch.BatchId, 5, 4, 1, 0), log.Single("open"));
        Assert.Equal((BatchChangeOutcome.Closed, BatchState.Fired), (late.Outcome, late.Batch!.State));
        Assert.Empty(late.JobIds);
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE args ->> 'name' = 'too-late'"));
        Assert.Equal(BatchChangeOutcome.Done, sealedAgain.Outcome);
        Assert.Equal(BatchChangeOutcome.NotFound, (await _client.AddToBatchAsync(long.MaxValue, [Member("b-open", "x")])).Outcome);
        Assert.Equal(BatchChangeOutcome.NotFound, (await _client.SealBatchAsync(long.MaxValue)).Outcome);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task An_empty_batch_fires_its_callback_as_it_is_sealed_and_a_sealed_batch_takes_no_jobs()
    {
        // No Worker serves the queue: the callbacks stay where the batches put them.
        var sealedEmpty = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-empty", "empty"), []));
        var openEmpty = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-empty", "later"), []) { Open = true });
        Assert.Equal(JobState.Pending, (await _client.GetAsync(openEmpty.CallbackJobId))!.State);
        var sealedLater = await _client.SealBatchAsync(openEmpty.BatchId);
        var refused = await _client.AddToBatchAsync(openEmpty.BatchId, [Member("b-empty", "x")]);

        Assert.Equal(BatchState.Fired, sealedEmpty.State);
        var callback = (await _client.GetAsync(sealedEmpty.CallbackJobId))!;
        Assert.Equal(JobState.Available, callback.State);
        Assert.Equal(new BatchOutcome(sealedEmpty.BatchId, 0, 0, 0, 0), OutcomeOf(callback.ArgsJson));
        Assert.Equal("empty", JsonDocument.Parse(callback.ArgsJson).RootElement.GetProperty("tag").GetString());
        Assert.Equal(BatchState.Fired, sealedLater.Batch!.State);
        Assert.Equal(JobState.Available, (await _client.GetAsync(openEmpty.CallbackJobId))!.State);
        Assert.Equal(BatchChangeOutcome.Closed, refused.Outcome);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task Cancelling_the_waiting_callback_cancels_the_batch_which_then_takes_no_jobs()
    {
        // No Worker serves the queue: the job stays available, the callback waiting.
        var batch = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-cancel", "cancel"), [Member("b-cancel", "a")]) { Open = true });

        var cancelled = await _client.CancelAsync(batch.CallbackJobId);
        var refused = await _client.AddToBatchAsync(batch.BatchId, [Member("b-cancel", "b")]);
        var sealedLater = await _client.SealBatchAsync(batch.BatchId);

        Assert.Equal((JobActionOutcome.Done, JobState.Pending), (cancelled.Outcome, cancelled.PreviousState));
        Assert.Equal((BatchChangeOutcome.Closed, BatchState.Cancelled), (refused.Outcome, refused.Batch!.State));
        Assert.Equal((BatchState.Cancelled, JobState.Cancelled), (sealedLater.Batch!.State, sealedLater.Batch.CallbackState));
        Assert.Equal(JobState.Available, await _db.StateAsync(batch.JobIds[0]));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task Without_history_the_callback_still_gets_the_counts()
    {
        var log = new BatchLog();
        await using var worker = await StartWorkerAsync("b-nohistory", log, retention: "00:00:00");
        var batch = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-nohistory", "nohistory"),
            [.. Enumerable.Range(0, 10).Select(i => Member("b-nohistory", $"m{i}", failUntilAttempt: i < 3 ? 2 : 0))]));

        var done = await Eventually.WaitForAsync(() => _client.GetBatchAsync(batch.BatchId), b => b!.CallbackState is null, "the callback to finish");

        Assert.Equal(new BatchOutcome(batch.BatchId, 10, 7, 3, 0), log.Single("nohistory"));
        Assert.Equal((BatchState.Fired, 7, 3), (done!.State, done.Completed, done.Discarded));
    }

    [Fact]
    public async Task A_job_whose_worker_died_on_its_last_attempt_is_discarded_by_the_rescuer_and_counted()
    {
        // No Worker serves the queue: the test plays a Worker that claimed both jobs and died.
        var batch = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-rescue", "rescue"), [Member("b-rescue", "lost"), Member("b-rescue", "lost-too")]));
        await _db.ExecuteAsync("""
            UPDATE jobs.job SET state = 'running', attempt = max_attempts, attempted_at = now(), attempted_by = 'dead-worker',
                                lease_expires_at = now() - interval '1 second'
            WHERE id = ANY ($1)
            """, batch.JobIds.ToArray());
        var rescuer = new JobRescuer(_db.App, Options.Create(new JobWorkerOptions()), TimeProvider.System, NullLogger<JobRescuer>.Instance);

        await rescuer.RescueExpiredAsync(CancellationToken.None);
        var callback = (await _client.GetAsync(batch.CallbackJobId))!;

        Assert.Equal(JobState.Available, callback.State);
        Assert.Equal(new BatchOutcome(batch.BatchId, 2, 0, 2, 0), OutcomeOf(callback.ArgsJson));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task A_job_retried_before_its_batch_fired_counts_once_and_one_retried_after_changes_nothing()
    {
        var log = new BatchLog();
        await using var worker = await StartWorkerAsync("b-retry", log);
        var open = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-retry", "before"), [Member("b-retry", "flaky", failUntilAttempt: 2)]) { Open = true });
        var closed = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-retry", "after"), [Member("b-retry", "flaky-too", failUntilAttempt: 2)]));
        await Eventually.WaitForAsync(() => _client.GetBatchAsync(open.BatchId), b => b!.Discarded == 1, "the job of the open batch to be discarded");
        await WaitUntilCallbackFinishedAsync(closed.BatchId);

        Assert.Equal(JobActionOutcome.Done, (await _client.RetryAsync(open.JobIds[0])).Outcome);
        Assert.Equal(JobActionOutcome.Done, (await _client.RetryAsync(closed.JobIds[0])).Outcome);
        await Eventually.WaitForAsync(() => _client.GetBatchAsync(open.BatchId), b => b!.Completed == 1, "the retried job to complete");
        await Eventually.WaitForAsync(() => _db.StateAsync(closed.JobIds[0]), s => s == JobState.Completed, "the job retried after its batch fired to complete");
        await _client.SealBatchAsync(open.BatchId);
        await WaitUntilCallbackFinishedAsync(open.BatchId);

        Assert.Equal(new BatchOutcome(open.BatchId, 1, 1, 0, 0), log.Single("before"));
        Assert.Equal(new BatchOutcome(closed.BatchId, 1, 0, 1, 0), log.Single("after"));
        var after = await _client.GetBatchAsync(closed.BatchId);
        Assert.Equal((0, 1), (after!.Completed, after.Discarded));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task The_pruner_deletes_a_batch_only_once_its_callback_is_kept_nowhere()
    {
        var log = new BatchLog();
        await using var noHistory = await StartWorkerAsync("b-prune-gone", log, retention: "00:00:00");
        await using var withHistory = await StartWorkerAsync("b-prune-kept", log);
        var gone = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-prune-gone", "gone"), [Member("b-prune-gone", "g0"), Member("b-prune-gone", "g1")]));
        var kept = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-prune-kept", "kept"), [Member("b-prune-kept", "k0")]));
        var open = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-prune-gone", "open"), [Member("b-prune-gone", "o0")]) { Open = true });
        await Eventually.WaitForAsync(() => _client.GetBatchAsync(gone.BatchId), b => b!.State == BatchState.Fired && b.CallbackState is null, "the first callback to finish");
        await WaitUntilCallbackFinishedAsync(kept.BatchId);
        await _db.ExecuteAsync("UPDATE jobs.batch SET created_at = now() - interval '2 days' WHERE id = ANY ($1)", new[] { gone.BatchId, kept.BatchId, open.BatchId });
        var pruner = new JobPruner(_db.App, Options.Create(new JobWorkerOptions { RetentionPeriod = TimeSpan.FromDays(1) }), TimeProvider.System, NullLogger<JobPruner>.Instance);

        await pruner.PruneAsync(CancellationToken.None);

        Assert.Null(await _client.GetBatchAsync(gone.BatchId));
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_dependency WHERE dependent_id = $1", gone.CallbackJobId));
        Assert.Equal(BatchState.Fired, (await _client.GetBatchAsync(kept.BatchId))!.State);
        Assert.Equal(BatchState.Open, (await _client.GetBatchAsync(open.BatchId))!.State);
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_dependency WHERE dependent_id = $1", open.CallbackJobId));
    }

    [Fact]
    public async Task An_invalid_batch_is_refused_before_anything_is_written_naming_the_field()
    {
        var before = await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.batch");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _client.EnqueueBatchAsync(new NewBatch(Callback("q", "x"), [new NewJob("k") { Priority = 12 }])));

        Assert.Contains("jobs[0].priority", error.Message, StringComparison.Ordinal);
        Assert.Equal("callback.runAt", new NewBatch(Callback("q", "x") with { RunAt = DateTimeOffset.UtcNow }, []).Validate()!.Field);
        Assert.Equal("callback.args.batch", new NewBatch(new NewJob("k", """{"batch":1}"""), []).Validate()!.Field);
        Assert.Equal("jobs[1].idempotencyKey", new NewBatch(Callback("q", "x"), [new NewJob("k"), new NewJob("k") { IdempotencyKey = "k" }]).Validate()!.Field);
        Assert.Equal("jobs", NewBatch.ValidateJobs([], minimum: 1)!.Field);
        Assert.Null(new NewBatch(Callback("q", "x"), []).Validate());
        await Assert.ThrowsAsync<ArgumentException>(() => _client.AddToBatchAsync(1, []));
        Assert.Equal(before, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.batch"));
    }

    // Not a check of speed: a figure for the CHANGELOG (how long after the last of 10,000 jobs its
    // callback became runnable and started), printed to the test's output.
    [Fact]
    public async Task Ten_thousand_jobs_fire_their_callback_once_and_the_delay_after_the_last_one_is_reported()
    {
        var log = new BatchLog();
        await using var first = await StartWorkerAsync("b-10k", log, concurrency: 32);
        await using var second = await StartWorkerAsync("b-10k", log, concurrency: 32);

        var batch = await _client.EnqueueBatchAsync(new NewBatch(Callback("b-10k", "10k"), [.. Enumerable.Range(0, 10_000).Select(i => Member("b-10k", $"m{i}"))]));
        await WaitUntilCallbackFinishedAsync(batch.BatchId, TimeSpan.FromMinutes(5));

        Assert.Equal(new BatchOutcome(batch.BatchId, 10_000, 10_000, 0, 0), log.Single("10k"));
        var figures = await _db.ScalarAsync<string>("""
            SELECT format('jobs %s ms (first created to last finalized); callback runnable %s ms and started %s ms after the last job finalized',
                          round(extract(epoch FROM max(m.finalized_at) - min(m.created_at)) * 1000),
                          round(extract(epoch FROM c.run_at - max(m.finalized_at)) * 1000, 1),
                          round(extract(epoch FROM c.attempted_at - max(m.finalized_at)) * 1000, 1))
            FROM jobs.job_history AS m, jobs.job_history AS c
            WHERE m.id = ANY ($1) AND c.id = $2
            GROUP BY c.run_at, c.attempted_at
            """, batch.JobIds.ToArray(), batch.CallbackJobId);
        _output.WriteLine(figures);
    }

    private static NewJob Member(string queue, string name, int failUntilAttempt = 0) =>
        NewJob.Create("batch-member", new MemberArgs(name, failUntilAttempt)) with { Queue = queue, MaxAttempts = 1 };

    private static NewJob Callback(string queue, string tag) =>
        NewJob.Create("batch-callback", new { tag }) with { Queue = queue };

    private static BatchOutcome OutcomeOf(string argsJson) =>
        JsonDocument.Parse(argsJson).RootElement.GetProperty(BatchOutcome.ArgsKey).Deserialize<BatchOutcome>(JsonSerializerOptions.Web)!;

    private Task<TestWorker> StartWorkerAsync(string queue, BatchLog log, int concurrency = 4, string? retention = null)
    {
        var settings = new Dictionary<string, string?> { [$"Queues:{queue}"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (retention is not null)
        {
            settings["RetentionPeriod"] = retention;
        }

        return TestWorker.StartAsync(_db, settings, services => services.AddSingleton(log)
            .AddJobHandler<MemberHandler, MemberArgs>("batch-member")
            .AddJobHandler<CallbackHandler, CallbackArgs>("batch-callback"));
    }

    private Task<BatchRecord> WaitUntilCallbackFinishedAsync(long batchId, TimeSpan? timeout = null) =>
        Eventually.WaitForAsync(async () => (await _client.GetBatchAsync(batchId))!, b => b.CallbackState is JobState.Completed,
            $"the callback of batch {batchId} to complete", timeout);

    public sealed record MemberArgs(string Name, int FailUntilAttempt);

    public sealed record CallbackArgs(string Tag, BatchOutcome Batch);

    /// <summary>Every run of a callback, by its tag, with the outcome it received.</summary>
    public sealed class BatchLog
    {
        private readonly ConcurrentQueue<(string Tag, BatchOutcome Outcome)> _runs = new();

        public void Add(string tag, BatchOutcome outcome) => _runs.Enqueue((tag, outcome));

        public int Runs(string tag) => _runs.Count(r => r.Tag == tag);

        /// <summary>The outcome of the one run of <paramref name="tag"/>; fails when it ran another number of times.</summary>
        public BatchOutcome Single(string tag) => _runs.Where(r => r.Tag == tag).Select(r => r.Outcome).Single();
    }

    /// <summary>A batch's job: fails while its attempt is below <c>FailUntilAttempt</c>.</summary>
    public sealed class MemberHandler : IJobHandler<MemberArgs>
    {
        public Task HandleAsync(JobContext job, MemberArgs args, CancellationToken cancellationToken) =>
            job.Attempt < args.FailUntilAttempt
                ? throw new InvalidOperationException($"{args.Name}: attempt {job.Attempt} fails")
                : Task.CompletedTask;
    }

    /// <summary>A batch's callback: records what it received.</summary>
    public sealed class CallbackHandler(BatchLog log) : IJobHandler<CallbackArgs>
    {
        public Task HandleAsync(JobContext job, CallbackArgs args, CancellationToken cancellationToken)
        {
            log.Add(args.Tag, args.Batch);
            return Task.CompletedTask;
        }
    }
}
