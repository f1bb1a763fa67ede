using System.Collections.Concurrent;
using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;

namespace JobEngine.Tests;

public sealed class WorkerTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;
    private readonly JobClient _client;

    public WorkerTests(TestDatabase db)
    {
        _db = db;
        _client = new JobClient(db.App);
    }

    [Fact]
    public async Task Four_workers_run_each_of_3000_jobs_exactly_once()
    {
        var runs = new ConcurrentDictionary<long, int>();
        var overlapping = 0;
        var active = new ConcurrentDictionary<long, byte>();
        var workers = new List<TestWorker>();
        for (var i = 0; i < 4; i++)
        {
            workers.Add(await TestWorker.StartAsync(_db, new() { ["Queues:concurrency"] = "8" }, services =>
                services.AddSingleton(new RecordingHandler.Log(runs, active, () => Interlocked.Increment(ref overlapping)))
                    .AddJobHandler<RecordingHandler, RecordingHandler.Args>("record")));
        }

        await _client.EnqueueManyAsync([.. Enumerable.Range(0, 3000).Select(i => NewJob.Create("record", new { i }) with { Queue = "concurrency" })]);
        await _db.WaitForCountAsync("concurrency", JobState.Completed, 3000);
        foreach (var worker in workers)
        {
            await worker.DisposeAsync();
        }

        Assert.Equal(3000, runs.Count);
        Assert.All(runs.Values, count => Assert.Equal(1, count));
        Assert.Equal(0, overlapping);
    }

    [Fact]
    public async Task A_failing_job_retries_with_its_errors_recorded_until_it_succeeds_or_is_discarded()
    {
        await using var worker = await TestWorker.StartAsync(_db, new() { ["Queues:retry"] = "4" });
        var succeeds = await _client.EnqueueAsync(NewJob.Create("fail", new { untilAttempt = 3 }) with { Queue = "retry", MaxAttempts = 5 });
        var discarded = await _client.EnqueueAsync(NewJob.Create("fail", new { untilAttempt = 10 }) with { Queue = "retry", MaxAttempts = 2 });

        await _db.WaitForStateAsync(succeeds.Job.Id, JobState.Completed);
        await _db.WaitForStateAsync(discarded.Job.Id, JobState.Discarded);

        var done = (await _client.GetAsync(succeeds.Job.Id))!;
        Assert.Equal(3, done.Attempt);
        Assert.Equal(2, await _db.ScalarAsync<int>("SELECT jsonb_array_length(errors) FROM jobs.job_all WHERE id = $1", done.Id));
        var dead = (await _client.GetAsync(discarded.Job.Id))!;
        Assert.Equal(2, dead.Attempt);
        Assert.NotNull(dead.FinalizedAt);
        Assert.Contains("System.InvalidOperationException", dead.ErrorsJson, StringComparison.Ordinal);
        Assert.Contains("fail: attempt 2", dead.ErrorsJson, StringComparison.Ordinal);
    }

    // attempted_by names only the latest attempt's worker; the job page shows each attempt's.
    [Fact]
    public async Task Each_failed_attempts_error_names_the_worker_that_ran_it()
    {
        await using var worker = await TestWorker.StartAsync(_db, new() { ["WorkerId"] = "errors-worker", ["Queues:retry-worker"] = "2" });
        var job = await _client.EnqueueAsync(NewJob.Create("fail", new { untilAttempt = 3 }) with { Queue = "retry-worker", MaxAttempts = 5 });

        await _db.WaitForStateAsync(job.Job.Id, JobState.Completed);

        var workers = await _db.ScalarAsync<string>(
            "SELECT string_agg((e ->> 'attempt') || ':' || coalesce(e ->> 'worker', 'none'), ',' ORDER BY (e ->> 'attempt')::int) FROM jobs.job_all, jsonb_array_elements(errors) AS e WHERE id = $1",
            job.Job.Id);
        Assert.Equal("1:errors-worker,2:errors-worker", workers);
    }

    [Fact]
    public async Task A_scheduled_job_starts_at_its_time_without_a_notification_or_a_poll()
    {
        // Polling every 5 minutes: only the worker's own due-time wake can start the job in time.
        await using var worker = await TestWorker.StartAsync(_db, new() { ["Queues:scheduled"] = "2", ["PollInterval"] = "00:05:00" });
        var runAt = DateTimeOffset.UtcNow.AddSeconds(2);
        var job = await _client.EnqueueAsync(new NewJob("noop") { Queue = "scheduled", RunAt = runAt });
        Assert.Equal(JobState.Scheduled, job.Job.State);

        await _db.WaitForStateAsync(job.Job.Id, JobState.Completed, TimeSpan.FromSeconds(60));
        var started = await _db.ScalarAsync<DateTime>("SELECT attempted_at FROM jobs.job_all WHERE id = $1", job.Job.Id);
        Assert.True(started >= runAt.UtcDateTime, $"started {started:O} before its run-at {runAt:O}");
    }

    [Fact]
    public async Task A_new_job_is_picked_up_by_notification_not_by_polling()
    {
        await using var worker = await TestWorker.StartAsync(_db, new() { ["Queues:notified"] = "2", ["PollInterval"] = "00:05:00" });
        await Eventually.WaitForAsync(() => Task.FromResult(worker.Services.GetRequiredService<JobNotifier>().IsListening), l => l, "the listener");

        var job = await _client.EnqueueAsync(new NewJob("noop") { Queue = "notified" });
        await _db.WaitForStateAsync(job.Job.Id, JobState.Completed, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task The_listener_reconnects_by_itself_after_its_backend_is_terminated()
    {
        await using var worker = await TestWorker.StartAsync(_db, new() { ["Queues:relisten"] = "2", ["PollInterval"] = "00:05:00" });
        var notifier = worker.Services.GetRequiredService<JobNotifier>();
        var firstPid = await Eventually.WaitForAsync(() => Task.FromResult(notifier.ListenerBackendPid), pid => pid != 0, "the listener");

        Assert.True(await _db.ScalarAsync<bool>("SELECT pg_terminate_backend($1)", firstPid));
        await Eventually.WaitForAsync(() => Task.FromResult(notifier.ListenerBackendPid), pid => pid != 0 && pid != firstPid, "a new listener connection");

        var job = await _client.EnqueueAsync(new NewJob("noop") { Queue = "relisten" });
        await _db.WaitForStateAsync(job.Job.Id, JobState.Completed, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Cancelling_a_running_job_cancels_its_handler()
    {
        await using var worker = await TestWorker.StartAsync(_db, new() { ["Queues:cancel"] = "2" });
        var job = await _client.EnqueueAsync(NewJob.Create("sleep", new { ms = 600_000 }) with { Queue = "cancel" });
        await _db.WaitForStateAsync(job.Job.Id, JobState.Running);

        Assert.Equal(JobActionOutcome.Done, (await _client.CancelAsync(job.Job.Id)).Outcome);

        await _db.WaitForStateAsync(job.Job.Id, JobState.Cancelled);
    }

    [Fact]
    public async Task A_handler_past_its_timeout_is_stopped_and_its_attempt_fails_with_a_timeout()
    {
        await using var worker = await TestWorker.StartAsync(_db, new() { ["Queues:timeout"] = "2", ["DefaultJobTimeout"] = "00:00:00.300" });
        var job = await _client.EnqueueAsync(NewJob.Create("sleep", new { ms = 600_000 }) with { Queue = "timeout", MaxAttempts = 1 });

        await _db.WaitForStateAsync(job.Job.Id, JobState.Discarded);

        var discarded = (await _client.GetAsync(job.Job.Id))!;
        Assert.Contains("TimeoutException", discarded.ErrorsJson, StringComparison.Ordinal);
        Assert.Contains("The 'sleep' job ran past its timeout.", discarded.ErrorsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_shutdown_a_running_job_finishes_within_the_drain_timeout()
    {
        var worker = await TestWorker.StartAsync(_db, new() { ["Queues:drain"] = "2", ["DrainTimeout"] = "00:00:30" });
        var job = await _client.EnqueueAsync(NewJob.Create("sleep", new { ms = 1500 }) with { Queue = "drain" });
        await _db.WaitForStateAsync(job.Job.Id, JobState.Running);

        await worker.DisposeAsync();

        Assert.Equal(JobState.Completed, await _db.StateAsync(job.Job.Id));
    }

    [Fact]
    public async Task On_shutdown_a_job_past_the_drain_timeout_is_released_with_its_attempt_uncounted()
    {
        var worker = await TestWorker.StartAsync(_db, new() { ["Queues:release"] = "2", ["DrainTimeout"] = "00:00:00.200" });
        var job = await _client.EnqueueAsync(NewJob.Create("sleep", new { ms = 600_000 }) with { Queue = "release" });
        await _db.WaitForStateAsync(job.Job.Id, JobState.Running);

        await worker.DisposeAsync();

        var released = (await _client.GetAsync(job.Job.Id))!;
        Assert.Equal(JobState.Available, released.State);
        Assert.Equal(0, released.Attempt);
    }

    [Fact]
    public async Task Pruning_drops_history_partitions_past_retention_only()
    {
        var old = await _client.EnqueueManyAsync([.. Enumerable.Range(0, 30).Select(_ => new NewJob("noop") { Queue = "prune" })]);
        var ancient = await _client.EnqueueAsync(new NewJob("noop") { Queue = "prune" });
        var recent = await _client.EnqueueAsync(new NewJob("noop") { Queue = "prune" });
        var live = await _client.EnqueueAsync(new NewJob("noop") { Queue = "prune" });
        // The partition maintenance made two days ago; a job 40 days old has none and sits in the default partition.
        await _db.ExecuteAsync("""
            DO $$
            DECLARE day date := (now() AT TIME ZONE 'UTC')::date - 2;
            BEGIN
                EXECUTE format('CREATE TABLE jobs.%I PARTITION OF jobs.job_history FOR VALUES FROM (%L) TO (%L)',
                               'job_history_' || to_char(day, 'YYYYMMDD'), day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
            END $$
            """);
        await _db.FinalizeAsync([.. old.Select(r => r.Job.Id)], JobState.Completed, DateTime.UtcNow - DateTime.UtcNow.Date.AddDays(-2).AddHours(12));
        await _db.FinalizeAsync([ancient.Job.Id], JobState.Discarded, TimeSpan.FromDays(40));
        await _db.FinalizeAsync([recent.Job.Id], JobState.Completed);
        var twoDaysAgo = $"job_history_{DateTime.UtcNow.Date.AddDays(-2):yyyyMMdd}";
        Assert.Equal(30L, await _db.ScalarAsync<long>($"SELECT count(*) FROM jobs.{twoDaysAgo}"));
        var pruner = new JobPruner(_db.App, Microsoft.Extensions.Options.Options.Create(new JobWorkerOptions()), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<JobPruner>.Instance);

        var deleted = await pruner.PruneAsync(CancellationToken.None);

        Assert.Equal(31, deleted);
        Assert.False(await _db.ScalarAsync<bool>($"SELECT to_regclass('jobs.{twoDaysAgo}') IS NOT NULL"));
        Assert.Null(await _client.GetAsync(ancient.Job.Id));
        Assert.Equal(JobState.Completed, (await _client.GetAsync(recent.Job.Id))!.State);
        Assert.Equal(JobState.Available, (await _client.GetAsync(live.Job.Id))!.State);
        Assert.True(await _db.ScalarAsync<bool>($"SELECT to_regclass('jobs.job_history_{DateTime.UtcNow.Date.AddDays(2):yyyyMMdd}') IS NOT NULL"), "the partition two days ahead exists");
    }

    // What a user waits for runs to the handler's call: the claim's own round trip and commit count,
    // not only the database's wait until the claim began (attempted_at). It counts from the job's
    // creation, which the handler also reads as an instant of the database's clock.
    [Fact]
    public async Task A_handlers_queue_latency_runs_past_the_claims_start_to_its_own_call_from_the_jobs_creation()
    {
        var seen = new TaskCompletionSource<(JobContext Job, DateTimeOffset At)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = await TestWorker.StartAsync(_db, new() { ["Queues:latency"] = "1" }, services =>
            services.AddSingleton(seen).AddJobHandler<LatencyHandler, LatencyHandler.Args>("latency"));
        var before = DateTimeOffset.UtcNow;
        var job = await _client.EnqueueAsync(new NewJob("latency") with { Queue = "latency" });

        var (context, at) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await _db.WaitForStateAsync(job.Job.Id, JobState.Completed);
        var untilClaimMs = await _db.ScalarAsync<double>(
            "SELECT (extract(epoch FROM attempted_at - created_at) * 1000)::float8 FROM jobs.job_all WHERE id = $1", job.Job.Id);
        var createdAt = await _db.ScalarAsync<DateTime>("SELECT created_at FROM jobs.job_all WHERE id = $1", job.Job.Id);

        Assert.True(context.QueueLatency.TotalMilliseconds > untilClaimMs,
            $"queue latency {context.QueueLatency.TotalMilliseconds:0.000} ms should exceed the wait until the claim began, {untilClaimMs:0.000} ms");
        Assert.True(context.QueueLatency < at - before + TimeSpan.FromMilliseconds(100),
            $"queue latency {context.QueueLatency.TotalMilliseconds:0.000} ms should be about the {(at - before).TotalMilliseconds:0.000} ms from enqueue to the handler");
        Assert.Equal(createdAt, context.ReadyAt.UtcDateTime);
    }

    /// <summary>Hands its context and the instant it was called to the test.</summary>
    public sealed class LatencyHandler(TaskCompletionSource<(JobContext Job, DateTimeOffset At)> seen) : IJobHandler<LatencyHandler.Args>
    {
        public sealed record Args;

        public Task HandleAsync(JobContext job, Args args, CancellationToken cancellationToken)
        {
            seen.TrySetResult((job, DateTimeOffset.UtcNow));
            return Task.CompletedTask;
        }
    }

    /// <summary>Records every run, and whether two runs of one job ever overlapped.</summary>
    public sealed class RecordingHandler(RecordingHandler.Log log) : IJobHandler<RecordingHandler.Args>
    {
        public sealed record Args(int I);

        public sealed record Log(ConcurrentDictionary<long, int> Runs, ConcurrentDictionary<long, byte> Active, Action Overlap);

        public async Task HandleAsync(JobContext job, Args args, CancellationToken cancellationToken)
        {
            if (!log.Active.TryAdd(job.Id, 0))
            {
                log.Overlap();
            }

            log.Runs.AddOrUpdate(job.Id, 1, (_, n) => n + 1);
            await Task.Yield();
            log.Active.TryRemove(job.Id, out _);
        }
    }
}
