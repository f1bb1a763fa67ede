using JobEngine.Sql;
using Npgsql;

namespace JobEngine.Tests;

/// <summary>
/// Claimers of one queue at once: the one holding the queue's claim lock claims from the head, one
/// that finds it taken claims the next share whose lock is free instead of fighting over the same rows.
/// </summary>
public sealed class ClaimShareTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_claimer_that_finds_the_claim_lock_taken_claims_the_jobs_after_the_holders_share()
    {
        var ids = await AddJobsAsync("shared", 30);
        await using var holder = await ClaimLockHolder.TakeAsync(db.App, "shared");

        await using (var other = await db.App.OpenConnectionAsync())
        {
            Assert.Equal(ids[10..20], await ClaimAsync(other, null, "shared", 10));
        }

        Assert.Equal(ids[..10], await ClaimAsync(holder.Connection, holder.Transaction, "shared", 10));
        await holder.Transaction.CommitAsync();
    }

    [Fact]
    public async Task Claimers_that_find_the_first_shares_taken_claim_the_next_free_share()
    {
        var ids = await AddJobsAsync("four-claimers", 40);
        await using var holder = await ClaimLockHolder.TakeAsync(db.App, "four-claimers");
        // A claim in flight on the second share, of one job (a share is as long as its claimer's claim):
        // the next claimer's start then shows which share it took, not which rows it found locked.
        await using var second = await db.App.OpenConnectionAsync();
        await using var secondClaim = await second.BeginTransactionAsync();
        Assert.Equal(ids[1..2], await ClaimAsync(second, secondClaim, "four-claimers", 1));

        await using (var third = await db.App.OpenConnectionAsync())
        {
            Assert.Equal(ids[20..30], await ClaimAsync(third, null, "four-claimers", 10));
        }

        await secondClaim.CommitAsync();
        long[] headLeft = [ids[0], .. ids[2..11]];
        Assert.Equal(headLeft, await ClaimAsync(holder.Connection, holder.Transaction, "four-claimers", 10));
        await holder.Transaction.CommitAsync();
    }

    [Fact]
    public async Task A_claimer_that_finds_the_claim_lock_taken_claims_a_queue_with_few_jobs_from_the_head()
    {
        var ids = await AddJobsAsync("small", 5);
        await using var holder = await ClaimLockHolder.TakeAsync(db.App, "small");

        await using var other = await db.App.OpenConnectionAsync();
        Assert.Equal(ids, await ClaimAsync(other, null, "small", 10));
    }

    [Fact]
    public async Task A_claimer_without_the_claim_lock_claims_nothing_of_a_queue_with_a_limit()
    {
        await AddJobsAsync("limited", 5);
        await db.ExecuteAsync("INSERT INTO jobs.queue_limit (queue, max_running) VALUES ('limited', 100)");
        await using var holder = await ClaimLockHolder.TakeAsync(db.App, "limited");

        await using var other = await db.App.OpenConnectionAsync();
        Assert.Empty(await ClaimAsync(other, null, "limited", 3));
        Assert.Equal(3, (await ClaimAsync(holder.Connection, holder.Transaction, "limited", 3)).Length);
    }

    private async Task<long[]> AddJobsAsync(string queue, int count)
    {
        await db.ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at)
            SELECT 'available', $1, 'noop', '{}', 0, 25, now() - interval '1 minute' FROM generate_series(1, $2)
            """, queue, count);
        await using var command = db.Owner.CreateCommand("SELECT array_agg(id ORDER BY id) FROM jobs.job WHERE queue = $1");
        command.Parameters.Add(new() { Value = queue });
        return (long[])(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long[]> ClaimAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string queue, int wanted)
    {
        await using var claim = new NpgsqlCommand(JobSql.ClaimJobs, connection, transaction);
        claim.Parameters.Add(new() { Value = queue });
        claim.Parameters.Add(new() { Value = wanted });
        claim.Parameters.Add(new() { Value = "claim-share-test" });
        claim.Parameters.Add(new() { Value = 30_000.0 });
        var claimed = new List<long>();
        await using var reader = await claim.ExecuteReaderAsync();
        var id = reader.GetOrdinal("id");
        while (await reader.ReadAsync())
        {
            claimed.Add(reader.GetInt64(id));
        }

        return [.. claimed.Order()];
    }

    /// <summary>A connection inside a transaction that holds a queue's claim lock, as a claim in flight does.</summary>
    private sealed class ClaimLockHolder(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public NpgsqlConnection Connection => connection;

        public NpgsqlTransaction Transaction => transaction;

        public static async Task<ClaimLockHolder> TakeAsync(NpgsqlDataSource source, string queue)
        {
            var connection = await source.OpenConnectionAsync();
            var transaction = await connection.BeginTransactionAsync();
            await using var lockQueue = new NpgsqlCommand(JobSql.LockQueueClaim, connection, transaction);
            lockQueue.Parameters.Add(new() { Value = queue });
            await lockQueue.ExecuteNonQueryAsync();
            return new ClaimLockHolder(connection, transaction);
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
