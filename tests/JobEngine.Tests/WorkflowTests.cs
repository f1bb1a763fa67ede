using System.Collections.Concurrent;
using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace JobEngine.Tests;

/// <summary>
/// Workflows on a real database with real Workers: dependents run only after their dependencies
/// completed, exactly once; a failed dependency cancels its dependents (or they run anyway); cancel
/// and retry reach down the chain; the whole workflow is written all or none; the count tables stay exact.
/// </summary>
[Collection(WorkflowMachineryCollection.Name)]
public sealed class WorkflowTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;
    private readonly JobClient _client;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public WorkflowTests(TestDatabase db, Xunit.Abstractions.ITestOutputHelper output)
    {
        _db = db;
        _output = output;
        _client = new JobClient(db.App);
    }

    [Fact]
    public async Task A_chain_runs_strictly_in_order_each_step_after_the_previous_one_finished()
    {
        var log = new StepHandler.Log();
        await using var worker = await StartWorkerAsync("wf-chain", log);

        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("c", "wf-chain", "b"),
            Step("a", "wf-chain"),
            Step("b", "wf-chain", "a"),
        ])
        { Name = "chain" });

        Assert.Equal(["c", "a", "b"], workflow.Steps.Select(s => s.Name));
        Assert.Equal(["pending", "available", "pending"], workflow.Steps.Select(s => s.State));
        Assert.Equal(JobState.Pending, (await _client.GetAsync(workflow.Steps[0].JobId))!.State);
        var done = await WaitUntilFinishedAsync(workflow.WorkflowId);

        Assert.All(done.Steps, s => Assert.Equal(JobState.Completed, s.State));
        Assert.True(log.Finished("a") < log.Started("b"), log.ToString());
        Assert.True(log.Finished("b") < log.Started("c"), log.ToString());
        Assert.Equal(1, log.Runs("c"));
        Assert.Equal(["b"], done.Steps.Single(s => s.Name == "c").DependsOn);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task A_fan_out_of_1000_then_a_fan_in_runs_the_fan_in_once_after_all_of_them()
    {
        var log = new StepHandler.Log();
        await using var first = await StartWorkerAsync("wf-fan", log, concurrency: 16);
        await using var second = await StartWorkerAsync("wf-fan", log, concurrency: 16);
        var parallel = Enumerable.Range(0, 1000).Select(i => Step($"p{i}", "wf-fan", "root")).ToList();
        var steps = new List<NewWorkflowStep> { Step("root", "wf-fan") };
        steps.AddRange(parallel);
        steps.Add(Step("join", "wf-fan", [.. parallel.Select(p => p.Name)]));

        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(steps));
        var done = await WaitUntilFinishedAsync(workflow.WorkflowId, TimeSpan.FromMinutes(3));

        Assert.All(done.Steps, s => Assert.Equal(JobState.Completed, s.State));
        Assert.Equal(1, log.Runs("join"));
        Assert.All(parallel, p => Assert.Equal(1, log.Runs(p.Name)));
        Assert.All(parallel, p => Assert.True(log.Finished("root") < log.Started(p.Name)));
        Assert.True(parallel.Max(p => log.Finished(p.Name)) < log.Started("join"), "the fan-in started before every parallel step finished");
        Assert.Equal(1002, done.CountsByState[JobState.Completed]);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task A_discarded_dependency_cancels_its_dependents_down_the_chain_naming_it_unless_they_run_anyway()
    {
        var log = new StepHandler.Log();
        await using var worker = await StartWorkerAsync("wf-fail", log);

        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("extract", "wf-fail", failUntilAttempt: 2),
            Step("load", "wf-fail", "extract"),
            Step("report", "wf-fail", "load"),
            Step("cleanup", "wf-fail", "extract") with { OnDependencyFailure = DependencyFailure.Run },
        ]));
        var done = await WaitUntilFinishedAsync(workflow.WorkflowId);

        var state = done.Steps.ToDictionary(s => s.Name);
        Assert.Equal(JobState.Discarded, state["extract"].State);
        Assert.Equal(JobState.Cancelled, state["load"].State);
        Assert.Contains("step 'extract'", state["load"].LastError, StringComparison.Ordinal);
        Assert.Contains("discarded", state["load"].LastError, StringComparison.Ordinal);
        Assert.Equal(JobState.Cancelled, state["report"].State);
        Assert.Contains("step 'load'", state["report"].LastError, StringComparison.Ordinal);
        Assert.Equal(JobState.Completed, state["cleanup"].State);
        Assert.Equal(0, log.Runs("load") + log.Runs("report"));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task Retrying_a_discarded_step_puts_the_dependents_it_cancelled_back_to_wait_and_they_run_after_it()
    {
        var log = new StepHandler.Log();
        await using var worker = await StartWorkerAsync("wf-retry", log);
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("a", "wf-retry", failUntilAttempt: 2),
            Step("b", "wf-retry", "a"),
            Step("c", "wf-retry", "b"),
        ]));
        await WaitUntilFinishedAsync(workflow.WorkflowId);
        Assert.Equal(JobState.Cancelled, await _db.StateAsync(workflow.Steps[2].JobId));

        var retried = await _client.RetryAsync(workflow.Steps[0].JobId);
        var done = await WaitUntilFinishedAsync(workflow.WorkflowId);

        Assert.Equal(JobActionOutcome.Done, retried.Outcome);
        Assert.All(done.Steps, s => Assert.Equal(JobState.Completed, s.State));
        Assert.True(log.Finished("a") < log.Started("b"), log.ToString());
        Assert.True(log.Finished("b") < log.Started("c"), log.ToString());
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task A_step_whose_worker_died_on_its_last_attempt_is_discarded_by_the_rescuer_and_cancels_its_dependents()
    {
        // No Worker serves the queue: the test plays a Worker that claimed the root and died.
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("lost", "wf-rescue", failUntilAttempt: 0),
            Step("next", "wf-rescue", "lost"),
        ]));
        await _db.ExecuteAsync("""
            UPDATE jobs.job SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = 'dead-worker',
                                lease_expires_at = now() - interval '1 second'
            WHERE id = $1
            """, workflow.Steps[0].JobId);
        var rescuer = new JobRescuer(_db.App, Options.Create(new JobWorkerOptions()), TimeProvider.System, NullLogger<JobRescuer>.Instance);

        await rescuer.RescueExpiredAsync(CancellationToken.None);
        var now = (await _client.GetWorkflowAsync(workflow.WorkflowId))!.Steps.ToDictionary(s => s.Name);

        Assert.Equal(JobState.Discarded, now["lost"].State);
        Assert.Equal(JobState.Cancelled, now["next"].State);
        Assert.Contains("step 'lost'", now["next"].LastError, StringComparison.Ordinal);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task A_dependency_that_finishes_while_its_failed_sibling_is_retried_is_counted_exactly_once()
    {
        // No Worker serves the queue: the test finishes "b" by hand, in a transaction held open
        // while "a" (cancelled, which cancelled "d") is retried.
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("a", "wf-race"),
            Step("b", "wf-race"),
            Step("d", "wf-race", "a", "b"),
        ]));
        var (a, b, d) = (workflow.Steps[0].JobId, workflow.Steps[1].JobId, workflow.Steps[2].JobId);
        await _client.CancelAsync(a);
        Assert.Equal(JobState.Cancelled, await _db.StateAsync(d));

        await using var connection = await _db.Owner.OpenConnectionAsync();
        await using var finishing = await connection.BeginTransactionAsync();
        await using (var finish = new Npgsql.NpgsqlCommand("""
            WITH gone AS (DELETE FROM jobs.job WHERE id = $1 RETURNING *), kept AS (
                INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                              attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
                SELECT id, 'completed', queue, kind, args, priority, 1, max_attempts, run_at, created_at,
                       now(), now(), 'hand', errors, idempotency_key, trace_parent, created_by
                FROM gone)
            SELECT jobs.resolve_dependents(ARRAY[$1::bigint], ARRAY['completed'::jobs.job_state], true)
            """, connection, finishing))
        {
            finish.Parameters.Add(new() { Value = b });
            await finish.ExecuteScalarAsync();
        }

        var retry = _client.RetryAsync(a);
        await Eventually.WaitForAsync(async () => retry.IsCompleted || await _db.ScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE NOT granted") > 0,
            waiting => waiting, "the retry to wait for the finish of b, or to be done");
        await finishing.CommitAsync();
        await retry;

        Assert.Equal(JobState.Pending, await _db.ScalarAsync<string>("SELECT state::text FROM jobs.job_all WHERE id = $1 UNION ALL SELECT 'pending' FROM jobs.job_pending WHERE id = $1", d));
        // Waits for "a" only: "b" completed, and was counted once.
        Assert.Equal(1, await _db.ScalarAsync<int>("SELECT waiting_on FROM jobs.job_pending WHERE id = $1", d));
    }

    [Fact]
    public async Task Cancelling_a_waiting_step_cancels_its_dependents_and_leaves_the_rest_running()
    {
        // No Worker serves the queue: the root stays available, the others wait.
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("root", "wf-cancel"),
            Step("middle", "wf-cancel", "root"),
            Step("leaf", "wf-cancel", "middle"),
            Step("anyway", "wf-cancel", "middle") with { OnDependencyFailure = DependencyFailure.Run },
        ]));

        var cancelled = await _client.CancelAsync(workflow.Steps[1].JobId);
        var now = (await _client.GetWorkflowAsync(workflow.WorkflowId))!.Steps.ToDictionary(s => s.Name, s => s.State);

        Assert.Equal((JobActionOutcome.Done, JobState.Pending), (cancelled.Outcome, cancelled.PreviousState));
        Assert.Equal(JobState.Available, now["root"]);
        Assert.Equal(JobState.Cancelled, now["middle"]);
        Assert.Equal(JobState.Cancelled, now["leaf"]);
        // Runs anyway, but only after its other dependencies: it had none left, so it is available.
        Assert.Equal(JobState.Available, now["anyway"]);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task Cancelling_a_workflow_cancels_every_step_not_started_leaves_the_running_one_to_finish_and_is_idempotent()
    {
        // No Worker serves the queue: the test plays the Worker that runs "root".
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("root", "wf-cancel-all"),
            Step("a", "wf-cancel-all", "root"),
            Step("b", "wf-cancel-all", "root") with { OnDependencyFailure = DependencyFailure.Run },
            Step("join", "wf-cancel-all", "a", "b"),
            Step("other", "wf-cancel-all"),
            Step("later", "wf-cancel-all"),
        ])
        { CreatedBy = "owner" });
        var root = workflow.Steps[0].JobId;
        await _db.ExecuteAsync("UPDATE jobs.job SET state = 'running', attempt = 1, attempted_at = now(), lease_expires_at = now() + interval '1 minute' WHERE id = $1", root);
        await _db.ExecuteAsync("UPDATE jobs.job SET state = 'scheduled', run_at = now() + interval '1 hour' WHERE id = $1", workflow.Steps[5].JobId);

        Assert.Null(await _client.CancelWorkflowAsync(workflow.WorkflowId, createdBy: "someone else"));
        Assert.Null(await _client.CancelWorkflowAsync(long.MaxValue));
        var first = await _client.CancelWorkflowAsync(workflow.WorkflowId, createdBy: "owner");
        var second = await _client.CancelWorkflowAsync(workflow.WorkflowId);

        Assert.Equal(new WorkflowCancelResult(workflow.WorkflowId, Cancelled: 5, LeftRunning: 1), first);
        Assert.Equal(new WorkflowCancelResult(workflow.WorkflowId, Cancelled: 0, LeftRunning: 1), second);
        var now = (await _client.GetWorkflowAsync(workflow.WorkflowId))!.Steps.ToDictionary(s => s.Name);
        Assert.Equal(JobState.Running, now["root"].State);
        Assert.All(now.Values.Where(s => s.Name != "root"), s =>
        {
            Assert.Equal(JobState.Cancelled, s.State);
            Assert.Equal($"workflow {workflow.WorkflowId} was cancelled before this step started", s.LastError);
        });

        // The running step finishes as it is; its dependents stay cancelled, even the one that runs anyway.
        await FinishByHandAsync(root, JobState.Completed);
        Assert.Equal(JobState.Completed, await _db.StateAsync(root));
        Assert.Equal(0L, await _db.ScalarAsync<long>(
            "SELECT count(*) FROM jobs.workflow_step AS s WHERE s.workflow_id = $1 AND (s.job_id IN (SELECT id FROM jobs.job) OR s.job_id IN (SELECT id FROM jobs.job_pending))",
            workflow.WorkflowId));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task A_step_finishing_while_its_workflow_is_cancelled_releases_its_dependents_first_and_the_cancel_takes_them()
    {
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("root", "wf-cancel-race"),
            Step("a", "wf-cancel-race", "root"),
            Step("b", "wf-cancel-race", "root"),
            Step("join", "wf-cancel-race", "a", "b"),
        ]));
        var root = workflow.Steps[0].JobId;
        await _db.ExecuteAsync("UPDATE jobs.job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1", root);

        // The finish of "root" holds "a" and "b" (released, not yet committed) while the cancel runs.
        await using var connection = await _db.Owner.OpenConnectionAsync();
        await using var finishing = await connection.BeginTransactionAsync();
        await FinishByHandAsync(root, JobState.Completed, finishing);
        var cancel = _client.CancelWorkflowAsync(workflow.WorkflowId);
        await Eventually.WaitForAsync(
            async () => await _db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0,
            waiting => waiting, "the cancel to wait for the finish of root");
        await finishing.CommitAsync();
        var result = await cancel;

        Assert.Equal(new WorkflowCancelResult(workflow.WorkflowId, Cancelled: 3, LeftRunning: 0), result);
        var now = (await _client.GetWorkflowAsync(workflow.WorkflowId))!.Steps.ToDictionary(s => s.Name, s => s.State);
        Assert.Equal(JobState.Completed, now["root"]);
        Assert.Equal("cancelled cancelled cancelled", $"{now["a"]} {now["b"]} {now["join"]}");
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task Cancelling_a_fan_out_of_10000_steps_cancels_all_of_them_in_one_transaction()
    {
        var parallel = Enumerable.Range(0, 10_000).Select(i => Step($"p{i}", "wf-cancel-big", "root")).ToList();
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("root", "wf-cancel-big"), .. parallel, Step("join", "wf-cancel-big", [.. parallel.Select(p => p.Name)])]));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = await _client.CancelWorkflowAsync(workflow.WorkflowId);
        watch.Stop();

        _output.WriteLine($"cancelled {result!.Cancelled} steps in {watch.ElapsedMilliseconds} ms");
        Assert.Equal(new WorkflowCancelResult(workflow.WorkflowId, Cancelled: 10_002, LeftRunning: 0), result);
        Assert.Equal(10_002L, await _db.ScalarAsync<long>(
            "SELECT count(*) FROM jobs.job_history AS h JOIN jobs.workflow_step AS s ON s.job_id = h.id WHERE s.workflow_id = $1 AND h.state = 'cancelled'", workflow.WorkflowId));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task The_workflow_metrics_count_workflows_and_steps_enqueued_steps_released_and_steps_cancelled()
    {
        using var counted = new WorkflowCounters();
        var log = new StepHandler.Log();
        await using var worker = await StartWorkerAsync("wf-metrics", log);

        // A chain of three that runs (two steps released), then a fan-out nobody runs, cancelled whole.
        var chain = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("a", "wf-metrics"), Step("b", "wf-metrics", "a"), Step("c", "wf-metrics", "b")]));
        await WaitUntilFinishedAsync(chain.WorkflowId);
        var idle = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("root", "wf-metrics-idle"), Step("x", "wf-metrics-idle", "root"), Step("y", "wf-metrics-idle", "root")]));
        await _client.CancelWorkflowAsync(idle.WorkflowId);
        await _client.CancelWorkflowAsync(idle.WorkflowId);

        Assert.Equal(2, counted["job.workflow.enqueued"]);
        Assert.Equal(6, counted["job.workflow.steps.enqueued"]);
        Assert.Equal(2, counted["job.workflow.steps.released"]);
        Assert.Equal(1, counted["job.workflow.cancelled"]);
        Assert.Equal(3, counted["job.workflow.steps.cancelled/" + JobEngine.Telemetry.JobTelemetry.WorkflowCancelledReason]);
    }

    [Fact]
    public async Task Every_step_of_a_workflow_runs_in_the_trace_of_the_request_that_enqueued_it()
    {
        using var source = new System.Diagnostics.ActivitySource("WorkflowTests.Request");
        var stopped = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name || s.Name == JobEngine.Telemetry.JobTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var log = new StepHandler.Log();
        await using var worker = await StartWorkerAsync("wf-trace", log);

        WorkflowEnqueued workflow;
        System.Diagnostics.ActivityTraceId requestTrace;
        System.Diagnostics.ActivitySpanId requestSpan;
        using (var request = source.StartActivity("POST /workflows", System.Diagnostics.ActivityKind.Server)!)
        {
            (requestTrace, requestSpan) = (request.TraceId, request.SpanId);
            workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("a", "wf-trace"), Step("b", "wf-trace", "a"), Step("c", "wf-trace", "a", "b")]));
        }

        await WaitUntilFinishedAsync(workflow.WorkflowId);
        var enqueue = Assert.Single(stopped, a => a.OperationName == "workflow enqueue" && Equals(a.GetTagItem("job.workflow.id"), workflow.WorkflowId));
        var runs = await Eventually.WaitForAsync(
            () => Task.FromResult(stopped.Where(a => a.OperationName == "job step" && Equals(a.GetTagItem("job.queue"), "wf-trace")).ToList()),
            r => r.Count == 3, "the three steps' runs to end");

        Assert.Equal((requestTrace, requestSpan), (enqueue.TraceId, enqueue.ParentSpanId));
        Assert.All(runs, run => Assert.Equal((requestTrace, enqueue.SpanId), (run.TraceId, run.ParentSpanId)));
        Assert.Equal(workflow.Steps.Select(s => s.JobId).Order(), runs.Select(r => (long)r.GetTagItem("job.id")!).Order());
    }

    [Fact]
    public async Task A_step_may_depend_on_jobs_by_id_a_completed_one_counts_as_done_and_a_live_one_releases_it_when_it_completes()
    {
        var live = (await _client.EnqueueAsync(NewJob.Create("step", new StepHandler.Args("live")) with { Queue = "wf-byid" })).Job.Id;
        var done = (await _client.EnqueueAsync(NewJob.Create("step", new StepHandler.Args("done")) with { Queue = "wf-byid" })).Job.Id;
        await FinishByHandAsync(done, JobState.Completed);

        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("after-done", "wf-byid") with { DependsOnJobIds = [done] },
            Step("after-both", "wf-byid") with { DependsOnJobIds = [live, done] },
            Step("last", "wf-byid", "after-both"),
        ]));

        Assert.Equal(["available", "pending", "pending"], workflow.Steps.Select(s => s.State));
        Assert.True(await _db.ScalarAsync<bool>("SELECT has_dependents FROM jobs.job WHERE id = $1", live));
        await FinishByHandAsync(live, JobState.Completed);
        var now = (await _client.GetWorkflowAsync(workflow.WorkflowId))!.Steps.ToDictionary(s => s.Name);
        Assert.Equal(JobState.Available, now["after-both"].State);
        Assert.Equal(JobState.Pending, now["last"].State);
        Assert.Equal(new[] { done, live }.Order(), now["after-both"].DependsOnJobIds);
        Assert.Empty(now["last"].DependsOnJobIds);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task A_step_depending_on_a_failed_job_is_cancelled_at_once_with_its_dependents_unless_it_runs_anyway_and_a_retry_revives_them()
    {
        var failed = (await _client.EnqueueAsync(NewJob.Create("step", new StepHandler.Args("failed")) with { Queue = "wf-byid-failed" })).Job.Id;
        await FinishByHandAsync(failed, JobState.Discarded);

        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("a", "wf-byid-failed") with { DependsOnJobIds = [failed] },
            Step("b", "wf-byid-failed", "a"),
            Step("c", "wf-byid-failed") with { DependsOnJobIds = [failed], OnDependencyFailure = DependencyFailure.Run },
            Step("d", "wf-byid-failed", "a") with { OnDependencyFailure = DependencyFailure.Run },
        ]));

        Assert.Equal(["cancelled", "cancelled", "available", "available"], workflow.Steps.Select(s => s.State));
        var now = (await _client.GetWorkflowAsync(workflow.WorkflowId))!.Steps.ToDictionary(s => s.Name);
        Assert.Equal($"dependency {failed} ended discarded, so this job was cancelled", now["a"].LastError);
        Assert.Contains("(step 'a') ended cancelled", now["b"].LastError, StringComparison.Ordinal);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));

        // The failed job retried: the steps it cancelled wait for it again, each for what has not completed.
        Assert.Equal(JobActionOutcome.Done, (await _client.RetryAsync(failed)).Outcome);
        now = (await _client.GetWorkflowAsync(workflow.WorkflowId))!.Steps.ToDictionary(s => s.Name);
        Assert.Equal((JobState.Pending, JobState.Pending), (now["a"].State, now["b"].State));
        Assert.Equal(1, await _db.ScalarAsync<int>("SELECT waiting_on FROM jobs.job_pending WHERE id = $1", now["a"].JobId));
        await FinishByHandAsync(failed, JobState.Completed);
        Assert.Equal(JobState.Available, await _db.StateAsync(now["a"].JobId));
    }

    [Fact]
    public async Task An_unknown_job_id_or_another_creators_job_fails_the_enqueue_naming_the_field_and_writes_nothing()
    {
        var theirs = (await _client.EnqueueAsync(new NewJob("step") { Queue = "wf-byid-unknown", CreatedBy = "them" })).Job.Id;
        var before = await TableCountsAsync();

        var unknown = await Assert.ThrowsAsync<UnknownDependencyException>(() => _client.EnqueueWorkflowAsync(new NewWorkflow(
            [Step("a", "wf-byid-unknown") with { DependsOnJobIds = [theirs] }, Step("b", "wf-byid-unknown") with { DependsOnJobIds = [theirs, long.MaxValue] }])));
        var notOurs = await Assert.ThrowsAsync<UnknownDependencyException>(() => _client.EnqueueWorkflowAsync(new NewWorkflow(
            [Step("a", "wf-byid-unknown") with { DependsOnJobIds = [theirs] }])
        { CreatedBy = "us", DependsOnOwnJobsOnly = true }));

        Assert.Equal(("steps[1].dependsOnJobIds[1]", long.MaxValue), (unknown.Field, unknown.JobId));
        Assert.Equal(("steps[0].dependsOnJobIds[0]", theirs), (notOurs.Field, notOurs.JobId));
        Assert.Equal(before, await TableCountsAsync());
        Assert.False(await _db.ScalarAsync<bool>("SELECT has_dependents FROM jobs.job WHERE id = $1", theirs));
        Assert.Equal("steps[0].dependsOnJobIds[1]", new NewWorkflow([Step("a", "q") with { DependsOnJobIds = [7, 7] }]).Validate()!.Field);
    }

    [Fact]
    public async Task A_job_finishing_while_a_workflow_that_depends_on_it_is_enqueued_is_counted_once()
    {
        var finishing = (await _client.EnqueueAsync(NewJob.Create("step", new StepHandler.Args("x")) with { Queue = "wf-byid-race" })).Job.Id;
        await _db.ExecuteAsync("UPDATE jobs.job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1", finishing);
        await using var connection = await _db.Owner.OpenConnectionAsync();
        await using var finish = await connection.BeginTransactionAsync();
        await FinishByHandAsync(finishing, JobState.Completed, finish);

        var enqueue = _client.EnqueueWorkflowAsync(new NewWorkflow([Step("after", "wf-byid-race") with { DependsOnJobIds = [finishing] }]));
        await Eventually.WaitForAsync(
            async () => await _db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0,
            waiting => waiting, "the enqueue to wait for the finish of the job it depends on");
        await finish.CommitAsync();
        var workflow = await enqueue;

        Assert.Equal(JobState.Available, workflow.Steps[0].State);
        Assert.Equal(JobState.Available, await _db.StateAsync(workflow.Steps[0].JobId));
    }

    [Fact]
    public async Task Cancelling_a_workflow_cancels_the_steps_of_another_workflow_that_depend_on_its_steps_by_id()
    {
        var first = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("upstream", "wf-byid-cancel")]));
        var second = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("downstream", "wf-byid-cancel") with { DependsOnJobIds = [first.Steps[0].JobId] },
            Step("after", "wf-byid-cancel", "downstream"),
        ]));

        await _client.CancelWorkflowAsync(first.WorkflowId);
        var now = (await _client.GetWorkflowAsync(second.WorkflowId))!.Steps.ToDictionary(s => s.Name);

        Assert.Equal((JobState.Cancelled, JobState.Cancelled), (now["downstream"].State, now["after"].State));
        Assert.Contains("(step 'upstream') ended cancelled", now["downstream"].LastError, StringComparison.Ordinal);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
    }

    [Fact]
    public async Task Without_history_a_chain_still_runs_in_order_and_a_failure_still_cancels_its_dependents()
    {
        var log = new StepHandler.Log();
        await using var worker = await StartWorkerAsync("wf-nohistory", log, retention: "00:00:00");
        var chain = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("a", "wf-nohistory"),
            Step("b", "wf-nohistory", "a"),
            Step("c", "wf-nohistory", "b"),
            Step("bad", "wf-nohistory", failUntilAttempt: 2),
            Step("after-bad", "wf-nohistory", "bad"),
        ]));

        var done = await WaitUntilFinishedAsync(chain.WorkflowId);

        Assert.All(done.Steps, s => Assert.Null(s.State));
        Assert.True(log.Finished("a") < log.Started("b"), log.ToString());
        Assert.True(log.Finished("b") < log.Started("c"), log.ToString());
        Assert.Equal(0, log.Runs("after-bad"));
        Assert.Equal(5, done.CountsByState["finished"]);
    }

    [Fact]
    public async Task A_step_that_runs_anyway_waits_again_for_a_retried_dependency_and_for_its_other_dependencies()
    {
        var log = new StepHandler.Log();
        await using var worker = await StartWorkerAsync("wf-rerun", log);
        var workflow = await _client.EnqueueWorkflowAsync(new NewWorkflow(
        [
            Step("a", "wf-rerun", failUntilAttempt: 2),
            Step("b", "wf-rerun-later"),
            Step("d", "wf-rerun", "a", "b") with { OnDependencyFailure = DependencyFailure.Run },
        ]));
        var (a, d) = (workflow.Steps[0].JobId, workflow.Steps[2].JobId);
        await Eventually.WaitForAsync(() => _db.StateAsync(a), s => s == JobState.Discarded, "step a to be discarded");

        await _client.RetryAsync(a);
        await Eventually.WaitForAsync(() => _db.StateAsync(a), s => s == JobState.Completed, "the retried step a to complete");

        // a was counted off when it failed and again when it completed: d must still wait for b.
        Assert.Equal(JobState.Pending, (await _client.GetAsync(d))!.State);
        await using var later = await StartWorkerAsync("wf-rerun-later", log);
        var done = await WaitUntilFinishedAsync(workflow.WorkflowId);
        Assert.All(done.Steps, s => Assert.Equal(JobState.Completed, s.State));
        Assert.True(log.Finished("b") < log.Started("d"), log.ToString());
        Assert.Equal(1, log.Runs("d"));
    }

    [Fact]
    public async Task The_pruner_deletes_a_workflow_only_once_none_of_its_steps_is_kept_anywhere()
    {
        var log = new StepHandler.Log();
        await using var noHistory = await StartWorkerAsync("wf-prune-gone", log, retention: "00:00:00");
        await using var withHistory = await StartWorkerAsync("wf-prune-kept", log);
        var gone = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("a", "wf-prune-gone"), Step("b", "wf-prune-gone", "a")]));
        var recent = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("a", "wf-prune-gone"), Step("b", "wf-prune-gone", "a")]));
        var inHistory = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("a", "wf-prune-kept"), Step("b", "wf-prune-kept", "a")]));
        var waiting = await _client.EnqueueWorkflowAsync(new NewWorkflow([Step("a", "wf-prune-unserved"), Step("b", "wf-prune-kept", "a")]));
        await WaitUntilFinishedAsync(gone.WorkflowId);
        await WaitUntilFinishedAsync(recent.WorkflowId);
        await WaitUntilFinishedAsync(inHistory.WorkflowId);
        long[] old = [gone.WorkflowId, inHistory.WorkflowId, waiting.WorkflowId];
        await _db.ExecuteAsync("UPDATE jobs.workflow SET created_at = now() - interval '2 days' WHERE id = ANY ($1)", old);
        var pruner = new JobPruner(_db.App, Options.Create(new JobWorkerOptions { RetentionPeriod = TimeSpan.FromDays(1) }), TimeProvider.System, NullLogger<JobPruner>.Instance);

        await pruner.PruneAsync(CancellationToken.None);

        Assert.Null(await _client.GetWorkflowAsync(gone.WorkflowId));
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.workflow_step WHERE workflow_id = $1", gone.WorkflowId));
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_dependency WHERE dependent_id = $1", gone.Steps[1].JobId));
        Assert.NotNull(await _client.GetWorkflowAsync(recent.WorkflowId));
        Assert.All((await _client.GetWorkflowAsync(inHistory.WorkflowId))!.Steps, s => Assert.Equal(JobState.Completed, s.State));
        var stillWaiting = (await _client.GetWorkflowAsync(waiting.WorkflowId))!;
        Assert.Equal([JobState.Available, JobState.Pending], stillWaiting.Steps.Select(s => s.State));
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_dependency WHERE dependent_id = $1", waiting.Steps[1].JobId));
    }

    [Fact]
    public async Task A_workflow_that_fails_to_insert_leaves_nothing_behind()
    {
        var before = await TableCountsAsync();
        // A check the test adds makes the last table the statement writes refuse the last step.
        await _db.ExecuteAsync("ALTER TABLE jobs.job_pending ADD CONSTRAINT test_refuses_poison CHECK (kind <> 'poison') NOT VALID");
        try
        {
            var steps = Enumerable.Range(0, 50).Select(i => Step($"s{i}", "wf-none")).ToList();
            steps.Add(new NewWorkflowStep("poisoned", new NewJob("poison") { Queue = "wf-none" }) { DependsOn = ["s0"] });

            await Assert.ThrowsAsync<Npgsql.PostgresException>(() => _client.EnqueueWorkflowAsync(new NewWorkflow(steps)));
        }
        finally
        {
            await _db.ExecuteAsync("ALTER TABLE jobs.job_pending DROP CONSTRAINT test_refuses_poison");
        }

        Assert.Equal(before, await TableCountsAsync());
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = 'wf-none'"));
    }

    [Fact]
    public async Task An_invalid_workflow_is_refused_before_anything_is_written_naming_the_step()
    {
        var cycle = new NewWorkflow([Step("a", "q", "c"), Step("b", "q", "a"), Step("c", "q", "b"), Step("d", "q")]);
        var unknown = new NewWorkflow([Step("a", "q"), Step("b", "q", "a", "nope")]);
        var duplicate = new NewWorkflow([Step("a", "q"), Step("a", "q")]);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _client.EnqueueWorkflowAsync(cycle));
        Assert.Contains("a -> c -> b -> a", error.Message, StringComparison.Ordinal);
        Assert.Equal("steps[1].dependsOn[1]", unknown.Validate()!.Field);
        Assert.Contains("'nope'", unknown.Validate()!.Detail, StringComparison.Ordinal);
        Assert.Equal("steps[1].name", duplicate.Validate()!.Field);
        Assert.Equal("steps[0].dependsOn", new NewWorkflow([Step("self", "q", "self")]).Validate()!.Field);
        Assert.Equal("steps", new NewWorkflow([.. Enumerable.Range(0, NewWorkflow.MaxSteps + 1).Select(i => Step($"s{i}", "q"))]).Validate()!.Field);
        Assert.Null(new NewWorkflow([Step("a", "q"), Step("b", "q", "a")]).Validate());
    }

    private static NewWorkflowStep Step(string name, string queue, params string[] dependsOn) =>
        new(name, NewJob.Create("step", new StepHandler.Args(name)) with { Queue = queue }) { DependsOn = dependsOn };

    private static NewWorkflowStep Step(string name, string queue, int failUntilAttempt) =>
        new(name, NewJob.Create("step", new StepHandler.Args(name, failUntilAttempt)) with { Queue = queue, MaxAttempts = 1 });

    private Task<TestWorker> StartWorkerAsync(string queue, StepHandler.Log log, int concurrency = 4, string? retention = null)
    {
        var settings = new Dictionary<string, string?> { [$"Queues:{queue}"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (retention is not null)
        {
            settings["RetentionPeriod"] = retention;
        }

        return TestWorker.StartAsync(_db, settings, services => services.AddSingleton(log).AddJobHandler<StepHandler, StepHandler.Args>("step"));
    }

    private Task<WorkflowRecord> WaitUntilFinishedAsync(long workflowId, TimeSpan? timeout = null) =>
        Eventually.WaitForAsync(async () => (await _client.GetWorkflowAsync(workflowId))!, w => w.IsFinished,
            $"workflow {workflowId} to finish", timeout)!;

    // A Worker's finish of a running job, by hand: out of jobs.job into the history, its dependents resolved.
    private async Task FinishByHandAsync(long id, string state, Npgsql.NpgsqlTransaction? transaction = null)
    {
        const string Sql = """
            WITH gone AS (DELETE FROM jobs.job WHERE id = $1 RETURNING *), kept AS (
                INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                              attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
                SELECT id, $2::jobs.job_state, queue, kind, args, priority, 1, max_attempts, run_at, created_at,
                       now(), now(), 'hand', errors, idempotency_key, trace_parent, created_by
                FROM gone)
            SELECT jobs.resolve_dependents(ARRAY[$1::bigint], ARRAY[$2::jobs.job_state], true)
            """;
        if (transaction is null)
        {
            await _db.ExecuteAsync(Sql, id, state);
            return;
        }

        await using var command = new Npgsql.NpgsqlCommand(Sql, transaction.Connection, transaction);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = state });
        await command.ExecuteScalarAsync();
    }

    private Task<string> TableCountsAsync() => _db.ScalarAsync<string>("""
        SELECT concat_ws(',', (SELECT count(*) FROM jobs.workflow), (SELECT count(*) FROM jobs.workflow_step),
                         (SELECT count(*) FROM jobs.job_dependency), (SELECT count(*) FROM jobs.job), (SELECT count(*) FROM jobs.job_pending))
        """);

    /// <summary>Records when each step started and finished, as positions in one sequence; fails while its attempt is below <c>FailUntilAttempt</c>.</summary>
    public sealed class StepHandler(StepHandler.Log log) : IJobHandler<StepHandler.Args>
    {
        public sealed record Args(string Name, int FailUntilAttempt = 0);

        public sealed class Log
        {
            private readonly ConcurrentQueue<(string Event, string Name, long At)> _events = new();
            private long _sequence;

            public void Add(string what, string name) => _events.Enqueue((what, name, Interlocked.Increment(ref _sequence)));

            public long Started(string name) => _events.Where(e => e.Name == name && e.Event == "start").Select(e => e.At).DefaultIfEmpty(long.MaxValue).Max();

            public long Finished(string name) => _events.Where(e => e.Name == name && e.Event == "finish").Select(e => e.At).DefaultIfEmpty(long.MaxValue).Max();

            public int Runs(string name) => _events.Count(e => e.Name == name && e.Event == "start");

            public override string ToString() => string.Join(" ", _events.Select(e => $"{e.At}:{e.Event}:{e.Name}"));
        }

        public async Task HandleAsync(JobContext job, Args args, CancellationToken cancellationToken)
        {
            log.Add("start", args.Name);
            await Task.Yield();
            if (job.Attempt < args.FailUntilAttempt)
            {
                log.Add("failed", args.Name);
                throw new InvalidOperationException($"step {args.Name}: attempt {job.Attempt} fails");
            }

            log.Add("finish", args.Name);
        }
    }
}
