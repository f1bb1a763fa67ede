using Npgsql;

namespace JobEngine.Tests;

public sealed class EnqueueTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;
    private readonly JobClient _client;

    public EnqueueTests(TestDatabase db)
    {
        _db = db;
        _client = new JobClient(db.App);
    }

    [Fact]
    public async Task A_job_is_stored_with_its_fields_and_is_available()
    {
        var result = await _client.EnqueueAsync(new NewJob("noop", """{"a":1}""") { Queue = "q-fields", Priority = 2, MaxAttempts = 3 });

        Assert.False(result.Existing);
        var job = await _client.GetAsync(result.Job.Id);
        Assert.NotNull(job);
        Assert.Equal(JobState.Available, job.State);
        Assert.Equal("q-fields", job.Queue);
        Assert.Equal(2, job.Priority);
        Assert.Equal(3, job.MaxAttempts);
        Assert.Equal(0, job.Attempt);
        Assert.Contains("\"a\": 1", job.ArgsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_of_thousands_goes_in_one_call_in_order()
    {
        var jobs = Enumerable.Range(0, 5000).Select(i => NewJob.Create("noop", new { i }) with { Queue = "q-batch" }).ToList();

        var results = await _client.EnqueueManyAsync(jobs);

        Assert.Equal(5000, results.Count);
        Assert.Equal(5000, results.Select(r => r.Job.Id).Distinct().Count());
        Assert.Contains("\"i\": 4999", results[4999].Job.ArgsJson, StringComparison.Ordinal);
        Assert.Equal(5000, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = 'q-batch'"));
    }

    [Fact]
    public async Task An_enqueue_without_idempotency_keys_commits_in_its_one_round_trip()
    {
        // Counted by the server: a BEGIN and COMMIT of its own would add a round trip to every job's
        // wait for a Worker. A keyed enqueue still takes a transaction (its lookup follows the
        // insert), which shows the count sees them.
        string[] transactionStatements = ["BEGIN%", "COMMIT%"];
        var before = await _db.AppStatementCallsAsync(transactionStatements);

        var results = await _client.EnqueueManyAsync([new NewJob("noop") { Queue = "q-one-trip" }, new NewJob("noop") { Queue = "q-one-trip" }]);
        var afterKeyless = await _db.AppStatementCallsAsync(transactionStatements);
        await _client.EnqueueAsync(new NewJob("noop") { Queue = "q-one-trip", IdempotencyKey = "one-trip" });
        var afterKeyed = await _db.AppStatementCallsAsync(transactionStatements);

        Assert.Equal(2, results.Count);
        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE queue = 'q-one-trip' AND idempotency_key IS NULL"));
        Assert.Equal(before, afterKeyless);
        Assert.True(afterKeyed > afterKeyless, $"a keyed enqueue's transaction should be counted: {afterKeyless} -> {afterKeyed}");
    }

    [Fact]
    public async Task An_enqueue_on_a_tuned_connection_plans_its_count_statement_once_per_connection()
    {
        // The insert's count trigger (migration 24): on the Api's and the Worker's connections
        // (force_custom_plan), a trigger statement with a parameter would be planned at every insert,
        // and every job waits for its insert. The owner may count plans in its own session (scripts/stack.sh).
        var tuned = new NpgsqlConnectionStringBuilder(_db.OwnerConnectionString) { Options = "-c pg_stat_statements.track_planning=on" };
        JobsConnectionSettings.ApplyTo(tuned);
        await using var source = NpgsqlDataSource.Create(tuned.ConnectionString);
        var client = new JobClient(source);
        const string CountStatementPlansAndCalls = """
            SELECT coalesce(sum(plans), 0)::bigint, coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND userid = current_user::regrole
              AND query LIKE 'INSERT INTO jobs.job_count%'
            """;
        var before = await PlansAndCallsAsync(source, CountStatementPlansAndCalls);

        for (var i = 0; i < 5; i++)
        {
            await client.EnqueueManyAsync([new NewJob("noop") { Queue = "q-planned" }, new NewJob("noop") { Queue = "q-planned" }]);
        }

        var after = await PlansAndCallsAsync(source, CountStatementPlansAndCalls);
        Assert.Equal(10, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE queue = 'q-planned'"));
        Assert.Equal(5, after.Calls - before.Calls);
        Assert.True(after.Plans - before.Plans <= 1, $"the count statement was planned {after.Plans - before.Plans} times for 5 inserts on one connection");
    }

    private static async Task<(long Plans, long Calls)> PlansAndCallsAsync(NpgsqlDataSource source, string sql)
    {
        await using var command = source.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    [Fact]
    public async Task A_future_run_at_makes_the_job_scheduled()
    {
        var result = await _client.EnqueueAsync(new NewJob("noop") { RunAt = DateTimeOffset.UtcNow.AddHours(1), Queue = "q-sched" });
        Assert.Equal(JobState.Scheduled, result.Job.State);
    }

    [Fact]
    public async Task The_same_idempotency_key_returns_the_live_job_and_a_finalized_one_frees_the_key()
    {
        var first = await _client.EnqueueAsync(new NewJob("noop") { IdempotencyKey = "order-42", Queue = "q-idem" });
        var second = await _client.EnqueueAsync(new NewJob("noop") { IdempotencyKey = "order-42", Queue = "q-idem" });
        var inBatch = await _client.EnqueueManyAsync([
            new NewJob("noop") { IdempotencyKey = "order-42", Queue = "q-idem" },
            new NewJob("noop") { IdempotencyKey = "order-43", Queue = "q-idem" },
            new NewJob("noop") { IdempotencyKey = "order-43", Queue = "q-idem" },
        ]);

        Assert.False(first.Existing);
        Assert.True(second.Existing);
        Assert.Equal(first.Job.Id, second.Job.Id);
        Assert.Equal(first.Job.Id, inBatch[0].Job.Id);
        Assert.False(inBatch[1].Existing);
        Assert.True(inBatch[2].Existing);
        Assert.Equal(inBatch[1].Job.Id, inBatch[2].Job.Id);

        await _client.CancelAsync(first.Job.Id);
        var afterFinal = await _client.EnqueueAsync(new NewJob("noop") { IdempotencyKey = "order-42", Queue = "q-idem" });
        Assert.False(afterFinal.Existing);
        Assert.NotEqual(first.Job.Id, afterFinal.Job.Id);
    }

    [Fact]
    public async Task A_job_enqueued_in_a_rolled_back_transaction_does_not_exist()
    {
        long rolledBackId;
        await using (var connection = await _db.App.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            rolledBackId = (await _client.EnqueueAsync(new NewJob("noop") { Queue = "q-tx" }, transaction)).Job.Id;
            await transaction.RollbackAsync();
        }

        long committedId;
        await using (var connection = await _db.App.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            committedId = (await _client.EnqueueAsync(new NewJob("noop") { Queue = "q-tx" }, transaction)).Job.Id;
            await transaction.CommitAsync();
        }

        Assert.Null(await _client.GetAsync(rolledBackId));
        Assert.NotNull(await _client.GetAsync(committedId));
    }

    [Theory]
    [InlineData("", "{}", "kind")]
    [InlineData("noop", "[1]", "args")]
    [InlineData("noop", "{\"bad\": \"\\u0000\"}", "args")]
    [InlineData("noop", "{not json", "args")]
    public async Task An_invalid_job_is_refused_naming_the_field_and_nothing_is_written(string kind, string args, string field)
    {
        var before = await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _client.EnqueueManyAsync([new NewJob("noop"), new NewJob(kind, args)]));
        Assert.Contains(field + ":", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all"));
    }

    [Fact]
    public void Out_of_range_priority_and_attempts_are_named()
    {
        var errors = new NewJob("noop") { Priority = 10, MaxAttempts = 0 }.Validate();
        Assert.Equal(["priority", "maxAttempts"], errors.Select(e => e.Field));
    }

    [Fact]
    public async Task Cancel_and_retry_answer_by_state()
    {
        var job = (await _client.EnqueueAsync(new NewJob("noop") { Queue = "q-actions" })).Job;

        Assert.Equal(JobActionOutcome.Conflict, (await _client.RetryAsync(job.Id)).Outcome);
        Assert.Equal(JobActionOutcome.Done, (await _client.CancelAsync(job.Id)).Outcome);
        Assert.Equal(JobState.Cancelled, await _db.StateAsync(job.Id));
        Assert.Equal(JobActionOutcome.Conflict, (await _client.CancelAsync(job.Id)).Outcome);
        Assert.Equal(JobActionOutcome.Done, (await _client.RetryAsync(job.Id)).Outcome);
        Assert.Equal(JobState.Available, await _db.StateAsync(job.Id));
        Assert.Equal(JobActionOutcome.NotFound, (await _client.CancelAsync(long.MaxValue)).Outcome);
    }
}
