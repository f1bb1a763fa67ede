using JobEngine;
using JobEngine.Running;
using Npgsql;

namespace Reliability.Tests;

/// <summary>A handler whose own database work fails the way a full disk or a runaway query does.</summary>
public sealed record FailingWorkArgs(int UntilAttempt);

/// <summary>Runs a query past its own statement_timeout (on its own connection) on every attempt before <c>untilAttempt</c>.</summary>
public sealed class StatementTimeoutHandler(TestDatabase db) : IJobHandler<FailingWorkArgs>
{
    public async Task HandleAsync(JobContext job, FailingWorkArgs args, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(db.AppConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        var sql = job.Attempt < args.UntilAttempt ? "SET statement_timeout = '200ms'; SELECT pg_sleep(30)" : "SELECT 1";
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Fails with what PostgreSQL answers when the disk is full (SQLSTATE 53100) on every attempt before <c>untilAttempt</c>.</summary>
public sealed class DiskFullHandler : IJobHandler<FailingWorkArgs>
{
    public Task HandleAsync(JobContext job, FailingWorkArgs args, CancellationToken cancellationToken) =>
        job.Attempt < args.UntilAttempt
            ? throw new PostgresException("could not extend file \"base/16384/16385\": No space left on device", "ERROR", "ERROR", PostgresErrorCodes.DiskFull)
            : Task.CompletedTask;
}

public sealed class HandlerFailureTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Statement_timeouts_and_a_full_disk_in_handlers_fail_and_retry_their_jobs_while_other_jobs_keep_flowing()
    {
        await using var worker = await TestWorker.StartAsync(db, new() { ["Queues:bad-day"] = "2" }, services => services
            .AddJobHandler<StatementTimeoutHandler, FailingWorkArgs>("statement-timeout")
            .AddJobHandler<DiskFullHandler, FailingWorkArgs>("disk-full"));
        var client = new JobClient(db.App);

        // More failing jobs than the worker has slots: if a failure held its slot, nothing else would run.
        var recovering = await client.EnqueueManyAsync([
            NewJob.Create("statement-timeout", new { untilAttempt = 3 }) with { Queue = "bad-day", MaxAttempts = 5 },
            NewJob.Create("disk-full", new { untilAttempt = 3 }) with { Queue = "bad-day", MaxAttempts = 5 }]);
        var hopeless = await client.EnqueueManyAsync([
            NewJob.Create("statement-timeout", new { untilAttempt = 99 }) with { Queue = "bad-day", MaxAttempts = 3 },
            NewJob.Create("disk-full", new { untilAttempt = 99 }) with { Queue = "bad-day", MaxAttempts = 3 }]);
        await Eventually.WaitForAsync(
            () => db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = 'bad-day' AND jsonb_array_length(errors) > 0"),
            failed => failed == 4, "every failing job to have failed once");

        var others = await client.EnqueueManyAsync([.. Enumerable.Range(0, 200).Select(_ => NewJob.Create("noop", new { }) with { Queue = "bad-day" })]);

        await Eventually.WaitForAsync(
            () => db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE id = ANY ($1) AND state = 'completed'", others.Select(r => r.Job.Id).ToArray()),
            completed => completed == 200, "the other 200 jobs to complete");
        foreach (var job in recovering)
        {
            await db.WaitForStateAsync(job.Job.Id, JobState.Completed);
            Assert.Equal(3, (await client.GetAsync(job.Job.Id))!.Attempt);
        }

        foreach (var job in hopeless)
        {
            await db.WaitForStateAsync(job.Job.Id, JobState.Discarded);
        }

        var errors = string.Join('\n', await Task.WhenAll(recovering.Concat(hopeless).Select(async r => (await client.GetAsync(r.Job.Id))!.ErrorsJson)));
        Assert.Contains("statement timeout", errors, StringComparison.Ordinal);
        Assert.Contains("53100", errors, StringComparison.Ordinal);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = 'bad-day' AND state = 'running'"));
    }
}
