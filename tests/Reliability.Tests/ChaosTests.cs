using Xunit.Abstractions;

namespace Reliability.Tests;

[Collection(ChaosStackCollection.Name)]
public sealed class ChaosTests(ITestOutputHelper output)
{
    // The short run (20,000 jobs, 200 workflows of 7 steps and 50 batches of 20 jobs, about two minutes). bench/chaos/run.sh runs this same test long
    // (CHAOS_JOBS, CHAOS_SECONDS) and keeps the figures (CHAOS_RESULTS); every run also leaves them
    // next to its logs in .stack/chaos-logs/TIME/report.md.
    [Fact]
    public async Task Under_sigkills_a_postgres_restart_and_a_dropped_listen_every_job_completes_once_in_effect_and_every_workflow_step_and_batch_callback_after_what_it_waits_for()
    {
        var settings = ChaosSettings.FromEnvironment();
        var logs = Path.Combine(WorkerProcess.RepositoryRoot(), ".stack", "chaos-logs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        ChaosReport report;
        await using (var stack = await ChaosStack.StartAsync())
        {
            report = await new ChaosRun(settings, stack, logs).RunAsync();
        }

        output.WriteLine(report.ToMarkdown());
        foreach (var results in new[] { Path.Combine(logs, "report"), Environment.GetEnvironmentVariable("CHAOS_RESULTS") }.OfType<string>().Where(p => p.Length > 0))
        {
            await File.WriteAllTextAsync(results + ".json", report.ToJson());
            await File.WriteAllTextAsync(results + ".md", report.ToMarkdown());
        }

        Assert.Equal(settings.AllJobs, report.JobRows);
        Assert.Equal(settings.AllJobs, report.Completed);
        Assert.Equal(0, report.NotCompleted);
        Assert.Equal(settings.Workflows, report.Workflows);
        Assert.Equal(settings.Workflows * ChaosSettings.StepsPerWorkflow, report.WorkflowSteps);
        Assert.Equal(0, report.StepsRunBeforeTheirDependencyCompleted);
        Assert.Equal(settings.Batches, report.Batches);
        Assert.Equal(settings.Batches, report.BatchesFired);
        Assert.Equal(0, report.BatchCallbacksWithWrongCounts);
        Assert.Equal(0, report.LeftRunning);
        Assert.True(report.Kills >= settings.EnqueueFor / settings.KillEvery / 4, $"only {report.Kills} kills");
        Assert.Equal(0, report.UnexpectedWorkerExits);
        Assert.Equal(1, report.PostgresRestarts);
        Assert.True(report.ListenerBackendsTerminated >= settings.Workers, $"{report.ListenerBackendsTerminated} LISTEN backends terminated");
        Assert.Empty(report.UntracedDuplicates);
        Assert.Equal(0, report.SameAttemptRunTwice);
        Assert.Equal(settings.AllJobs, report.Effects);
        Assert.Equal(0, report.DuplicateEffects);
        Assert.Equal(0, report.CompletedJobsWithoutEffect);
        Assert.Empty(report.SecretsFoundInLogs);
    }
}
