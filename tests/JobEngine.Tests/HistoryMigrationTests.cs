namespace JobEngine.Tests;

/// <summary>
/// Migrations 9 and 10 on a live database: a table of 1,000,000 jobs in the layout before them
/// (finished jobs in jobs.job, with the listing indexes), migrated while a Worker of this version
/// drains the backlog. Nothing is lost, nothing runs twice, the counts stay exact, and jobs.job
/// ends holding live jobs only.
/// </summary>
public sealed class HistoryMigrationTests : IAsyncLifetime
{
    private const int Finished = 950_000;
    private const int Backlog = 50_000;
    private const string Queue = "migrating";
    private readonly TestDatabase _db = new();

    public Task InitializeAsync() => _db.InitializeAsync();

    public Task DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task A_million_row_table_moves_to_the_history_while_a_worker_drains_it()
    {
        Assert.Equal(0, (await _db.MigrateAsync("rollback", "8")).ExitCode);
        // In slices, each well inside the command timeout on a loaded machine.
        for (var from = 1; from <= Finished; from += 50_000)
        {
            await _db.ExecuteAsync("""
                INSERT INTO jobs.job (state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, attempted_at, finalized_at)
                SELECT CASE WHEN i % 100 = 0 THEN 'discarded'::jobs.job_state ELSE 'completed' END, 'old', 'noop', '{}', 5, 1, 25, t, t, t, t
                FROM (SELECT i, now() - i * interval '5 milliseconds' AS t FROM generate_series($1, $1 + 49999) AS i) AS s
                """, from);
        }

        await new JobClient(_db.App).EnqueueManyAsync([.. Enumerable.Range(0, Backlog).Select(_ => new NewJob("noop") { Queue = Queue })]);
        await _db.ExecuteAsync("ANALYZE jobs.job");
        Assert.Equal((long)Finished + Backlog, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job"));

        // The Worker starts first, as a deploy would roll it out: until migration 9 lands its
        // finishes fail and are retried, never dropped.
        await using var worker = await TestWorker.StartAsync(_db, new() { [$"Queues:{Queue}"] = "200" });
        var (code, output) = await _db.MigrateAsync("apply");
        Assert.True(code == 0, output);
        await _db.WaitForCountAsync(Queue, JobState.Completed, Backlog, TimeSpan.FromMinutes(5));

        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job"));
        Assert.Equal((long)Finished + Backlog, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_history"));
        Assert.Equal(0L, await _db.ScalarAsync<long>($"SELECT count(*) FROM jobs.job_history WHERE queue = '{Queue}' AND attempt <> 1"));
        Assert.True(await _db.ScalarAsync<bool>("SELECT convalidated FROM pg_constraint WHERE conname = 'job_is_live'"));
        Assert.Equal(
            "job_claim_idx,job_idempotency_key_idx,job_pkey",
            await _db.ScalarAsync<string>("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'jobs' AND tablename = 'job'"));
        Assert.Equal("", await _db.ScalarAsync<string>(JobsTable.CountMismatches));
        Assert.Equal(JobState.Discarded, (await new JobClient(_db.App).GetAsync(await _db.ScalarAsync<long>("SELECT min(id) FROM jobs.job_history WHERE state = 'discarded'")))!.State);
    }
}
