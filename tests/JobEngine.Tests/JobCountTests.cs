using JobEngine.Running;
using Microsoft.Extensions.DependencyInjection;

namespace JobEngine.Tests;

/// <summary>
/// The count tables of migration 8 against the job tables themselves (live and history): in the
/// same snapshot they must agree, whatever the workers, the Api's actions, the pruner (a partition
/// drop, which fires no trigger) or the Migrator (moving rows between the tables) are doing.
/// </summary>
public sealed class JobCountTests : IClassFixture<TestDatabase>
{
    private const string FinishedTotals = """
        SELECT coalesce(sum(completed), 0)::bigint || '/' || coalesce(sum(discarded), 0)::bigint || '/' || coalesce(sum(cancelled), 0)::bigint
        FROM jobs.job_finished_minute WHERE queue = $1
        """;

    private const string LiveJobs = "SELECT count(*) FROM jobs.job_all WHERE queue = $1 AND state IN ('available', 'running', 'retryable')";

    private readonly TestDatabase _db;
    private readonly JobClient _client;

    public JobCountTests(TestDatabase db)
    {
        _db = db;
        _client = new JobClient(db.App);
    }

    [Fact]
    public async Task Counts_agree_with_the_table_at_every_moment_of_two_workers_retries_cancels_and_pruning()
    {
        const string queue = "counted";
        await using var first = await TestWorker.StartAsync(_db, new() { [$"Queues:{queue}"] = "8" });
        await using var second = await TestWorker.StartAsync(_db, new() { [$"Queues:{queue}"] = "8" });
        var scheduled = await _client.EnqueueManyAsync([.. Enumerable.Range(0, 20).Select(_ => new NewJob("noop") { Queue = queue, RunAt = DateTimeOffset.UtcNow.AddHours(1) })]);
        await _client.EnqueueManyAsync([
            .. Enumerable.Range(0, 400).Select(_ => new NewJob("noop") { Queue = queue }),
            .. Enumerable.Range(0, 50).Select(_ => NewJob.Create("fail", new { untilAttempt = 3 }) with { Queue = queue, MaxAttempts = 5 }),
            .. Enumerable.Range(0, 30).Select(_ => NewJob.Create("fail", new { untilAttempt = 10 }) with { Queue = queue, MaxAttempts = 2 }),
        ]);

        var mismatchesWhileRunning = new List<string>();
        await Eventually.WaitForAsync(async () =>
        {
            mismatchesWhileRunning.Add(await _db.ScalarAsync<string>(JobsTable.CountMismatches));
            return await _db.CountAsync(queue, JobState.Completed) + await _db.CountAsync(queue, JobState.Discarded);
        }, n => n == 480, "480 jobs completed or discarded");

        foreach (var job in scheduled.Take(5))
        {
            Assert.Equal(JobActionOutcome.Done, (await _client.CancelAsync(job.Job.Id)).Outcome);
        }

        var discarded = await _db.ScalarAsync<long[]>("SELECT array_agg(id) FROM jobs.job_all WHERE queue = $1 AND state = 'discarded'", queue);
        foreach (var id in discarded.Take(10))
        {
            Assert.Equal(JobActionOutcome.Done, (await _client.RetryAsync(id)).Outcome);
        }

        await Eventually.WaitForAsync(() => _db.ScalarAsync<long>(LiveJobs, queue), n => n == 0, "the retried jobs to be discarded again");
        await _db.ExecuteAsync("UPDATE jobs.job_history SET finalized_at = now() - interval '30 days' WHERE id IN (SELECT id FROM jobs.job_all WHERE queue = $1 AND state = 'completed' LIMIT 100)", queue);
        var pruned = await first.Services.GetRequiredService<JobPruner>().PruneAsync(CancellationToken.None);

        Assert.All(mismatchesWhileRunning, m => Assert.Equal("", m));
        Assert.Equal(100, pruned);
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
        Assert.Equal(350L, await _db.CountAsync(queue, JobState.Completed));
        // 450 completed; 30 discarded, 10 of them again after a retry by hand; 5 cancelled. Pruning takes nothing back.
        Assert.Equal("450/40/5", await _db.ScalarAsync<string>(FinishedTotals, queue));
    }

    [Fact]
    public async Task The_migration_counts_existing_rows_and_a_truncate_empties_the_counts()
    {
        Assert.Equal(0, (await _db.MigrateAsync("rollback", "7")).ExitCode);
        await _db.ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, finalized_at)
            SELECT CASE WHEN i % 3 = 0 THEN 'completed'::jobs.job_state ELSE 'available' END, 'migrated', 'noop', '{}', 5, 1, now(),
                   CASE WHEN i % 3 = 0 THEN now() END
            FROM generate_series(1, 300) AS i
            """);

        Assert.Equal(0, (await _db.MigrateAsync("apply")).ExitCode);

        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
        Assert.Equal("100/0/0", await _db.ScalarAsync<string>(FinishedTotals, "migrated"));
        await _db.ExecuteAsync("TRUNCATE jobs.job, jobs.job_history");
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT (SELECT count(*) FROM jobs.job_count) + (SELECT count(*) FROM jobs.job_finished_minute)"));
    }
}
