namespace JobEngine.Tests;

/// <summary>
/// The live tables empty as fast as they fill. A vacuum that cut off their empty pages would take an
/// ACCESS EXCLUSIVE lock on the table, and every enqueue, claim and finish would wait behind it for
/// up to 20 ms (migration 25): vacuum must leave the pages for later inserts.
/// </summary>
public sealed class LiveTableVacuumTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    public static TheoryData<string, string> LiveTables() => new()
    {
        {
            "jobs.job",
            """
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at)
            SELECT 'available', 'q-vacuum', 'noop', '{}', 0, 1, now() FROM generate_series(1, 5000)
            """
        },
        {
            "jobs.job_pending",
            """
            INSERT INTO jobs.job_pending (id, queue, kind, args, priority, max_attempts, waiting_on, on_dependency_failure)
            SELECT g, 'q-vacuum', 'noop', '{}', 0, 1, 1, 'cancel' FROM generate_series(1, 5000) AS g
            """
        },
    };

    [Theory]
    [MemberData(nameof(LiveTables))]
    public async Task A_vacuum_keeps_an_emptied_live_tables_pages_rather_than_locking_out_its_writers(string table, string fill)
    {
        await db.ExecuteAsync(fill);
        await db.ExecuteAsync($"DELETE FROM {table} WHERE queue = 'q-vacuum'");
        var filled = await db.ScalarAsync<long>($"SELECT pg_relation_size('{table}')");

        await db.ExecuteAsync($"VACUUM {table}");

        Assert.True(filled > 8192 * 10, $"{table} should have been filled: {filled} bytes");
        Assert.Equal(filled, await db.ScalarAsync<long>($"SELECT pg_relation_size('{table}')"));
    }
}
