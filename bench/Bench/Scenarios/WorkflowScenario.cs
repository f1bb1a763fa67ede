using System.Diagnostics;
using Bench.Contenders;
using JobEngine;
using Npgsql;

namespace Bench.Scenarios;

/// <summary>
/// Why it exists: workflows (issue 16) promise order and a fan-in that runs once, and users feel
/// the wait between a step and the next as they feel pickup latency. One Worker (history kept, as
/// in steady) runs a chain (each step waits for the one before) and a fan-out/fan-in (a root, then
/// many steps in parallel, then one step after all of them), both enqueued with
/// <see cref="JobClient.EnqueueWorkflowAsync(NewWorkflow, CancellationToken)"/>. From the history,
/// on the database clock: the step-to-next-step latency (a step's start minus its dependency's
/// finalization) p50/p99, the chain's steps that started before their dependency finished (must
/// be 0), the fan-in's attempt (must be 1: it ran once) and its wait after the last fan-out step.
/// Graphile Worker and pg-boss have no workflows: the figure to read beside it is our pickup
/// latency in the steady scenario.
/// </summary>
internal sealed class WorkflowScenario(BenchEnvironment env, BenchPlan plan, Results results)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    private sealed record StepTimes(DateTime Attempted, DateTime Finalized, int Attempt);

    public async Task RunAsync(Ours ours, CancellationToken cancellationToken)
    {
        await using var db = await BenchDatabase.CreateAsync(env, ours.Name, cancellationToken).ConfigureAwait(false);
        await ours.SetupAsync(db, cancellationToken).ConfigureAwait(false);
        await using var source = NpgsqlDataSource.Create(db.AppConnection);
        var client = new JobClient(source);
        using var worker = ours.StartWorker(db, 1, "");
        await ours.WaitUntilReadyAsync(db, [worker], cancellationToken).ConfigureAwait(false);

        await MeasureChainAsync(db, client, worker, cancellationToken).ConfigureAwait(false);
        await MeasureFanOutAsync(db, client, worker, cancellationToken).ConfigureAwait(false);
        await worker.StopAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    private async Task MeasureChainAsync(BenchDatabase db, JobClient client, ChildProcess worker, CancellationToken cancellationToken)
    {
        var steps = plan.WorkflowChainSteps;
        var chain = new NewWorkflow([.. Enumerable.Range(0, steps).Select(i =>
            new NewWorkflowStep($"s{i}", new NewJob("noop")) { DependsOn = i == 0 ? [] : [$"s{i - 1}"] })]) { Name = "bench-chain" };
        var clock = Stopwatch.StartNew();
        var enqueued = await client.EnqueueWorkflowAsync(chain, cancellationToken).ConfigureAwait(false);
        var ids = enqueued.Steps.OrderBy(s => int.Parse(s.Name[1..], System.Globalization.CultureInfo.InvariantCulture)).Select(s => s.JobId).ToArray();
        var times = await WaitForStepsAsync(db, ids, worker, "the chain", cancellationToken).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var gaps = Enumerable.Range(1, steps - 1).Select(i => (times[ids[i]].Attempted - times[ids[i - 1]].Finalized).TotalMilliseconds).ToList();

        results.Add("workflow", "ours", "chain_steps", steps, "steps");
        results.Add("workflow", "ours", "chain_seconds", seconds, "s");
        results.Add("workflow", "ours", "chain_step_to_step_p50_ms", Stats.Percentile(gaps, 50), "ms");
        results.Add("workflow", "ours", "chain_step_to_step_p99_ms", Stats.Percentile(gaps, 99), "ms");
        results.Add("workflow", "ours", "chain_steps_started_before_their_dependency_finished", gaps.Count(g => g < 0), "steps");
        results.Add("workflow", "ours", "chain_steps_run_more_than_once", times.Values.Count(t => t.Attempt > 1), "steps");
    }

    private async Task MeasureFanOutAsync(BenchDatabase db, JobClient client, ChildProcess worker, CancellationToken cancellationToken)
    {
        var width = plan.WorkflowFanOut;
        var parallel = Enumerable.Range(0, width).Select(i => $"f{i}").ToList();
        var workflow = new NewWorkflow(
        [
            new NewWorkflowStep("root", new NewJob("noop")),
            .. parallel.Select(name => new NewWorkflowStep(name, new NewJob("noop")) { DependsOn = ["root"] }),
            new NewWorkflowStep("fan-in", new NewJob("noop")) { DependsOn = parallel },
        ])
        { Name = "bench-fan-out" };
        var clock = Stopwatch.StartNew();
        var enqueued = await client.EnqueueWorkflowAsync(workflow, cancellationToken).ConfigureAwait(false);
        var enqueueSeconds = clock.Elapsed.TotalSeconds;
        var idOf = enqueued.Steps.ToDictionary(s => s.Name, s => s.JobId);
        var times = await WaitForStepsAsync(db, [.. idOf.Values], worker, "the fan-out/fan-in", cancellationToken).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var fanIn = times[idOf["fan-in"]];
        var lastParallel = parallel.Max(name => times[idOf[name]].Finalized);

        results.Add("workflow", "ours", "fan_out_steps", width, "steps");
        results.Add("workflow", "ours", "fan_out_enqueue_seconds", enqueueSeconds, "s");
        results.Add("workflow", "ours", "fan_out_seconds", seconds, "s");
        results.Add("workflow", "ours", "fan_out_steps_per_s", (width + 2) / seconds, "steps/s");
        results.Add("workflow", "ours", "fan_in_attempt", fanIn.Attempt, "");
        results.Add("workflow", "ours", "fan_in_wait_after_last_step_ms", (fanIn.Attempted - lastParallel).TotalMilliseconds, "ms");
        results.Add("workflow", "ours", "fan_out_steps_started_before_root_finished",
            parallel.Count(name => times[idOf[name]].Attempted < times[idOf["root"]].Finalized), "steps");
    }

    /// <summary>Waits (bounded) until every job of <paramref name="ids"/> has finished, then reads when each started and ended.</summary>
    private static async Task<Dictionary<long, StepTimes>> WaitForStepsAsync(BenchDatabase db, long[] ids, ChildProcess worker, string what, CancellationToken cancellationToken)
    {
        await Poll.UntilAsync(async () => await db.ScalarAsync(BenchSql.FinalizedAmong, cancellationToken, ids).ConfigureAwait(false) == ids.Length,
            Limit, $"every step of {what} to finish", cancellationToken, [worker]).ConfigureAwait(false);
        var times = new Dictionary<long, StepTimes>(ids.Length);
        await using var command = db.OwnerSource.CreateCommand(BenchSql.WorkflowStepTimes);
        command.Parameters.Add(new() { Value = ids });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (id, attempted, finalized, attempt) = (reader.GetOrdinal("id"), reader.GetOrdinal("attempted_at"), reader.GetOrdinal("finalized_at"), reader.GetOrdinal("attempt"));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            times[reader.GetInt64(id)] = new StepTimes(reader.GetDateTime(attempted), reader.GetDateTime(finalized), reader.GetInt16(attempt));
        }

        return times;
    }
}
