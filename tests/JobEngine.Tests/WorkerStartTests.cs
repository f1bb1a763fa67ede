using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobEngine.Tests;

public sealed class WorkerStartTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_worker_started_while_its_database_refuses_connections_waits_for_it_then_runs_jobs()
    {
        await using var server = NpgsqlDataSource.Create(TestDatabase.Env("JOBS_OWNER_CONNECTION"));
        var logs = new CapturedLogs();
        await using (var refuse = server.CreateCommand($"ALTER DATABASE {db.Name} ALLOW_CONNECTIONS false"))
        {
            await refuse.ExecuteNonQueryAsync();
        }

        TestWorker worker;
        try
        {
            worker = await TestWorker.StartAsync(db, new() { ["Queues:late"] = "2" }, services => services.AddSingleton<ILoggerProvider>(logs));
            await Eventually.WaitForAsync(() => Task.FromResult(logs.Contains("Registering the kinds")), seen => seen, "the worker to fail registering its kinds");
        }
        finally
        {
            await using var allow = server.CreateCommand($"ALTER DATABASE {db.Name} ALLOW_CONNECTIONS true");
            await allow.ExecuteNonQueryAsync();
        }

        await using (worker)
        {
            var job = await new JobClient(db.App).EnqueueAsync(NewJob.Create("noop", new { }) with { Queue = "late" });
            await db.WaitForStateAsync(job.Job.Id, JobState.Completed);
            Assert.False(worker.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        }
    }
}
