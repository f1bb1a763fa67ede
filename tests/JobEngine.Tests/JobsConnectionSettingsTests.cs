using JobEngine.Sql;
using Npgsql;

namespace JobEngine.Tests;

/// <summary>How the Worker and the Api connect.</summary>
public sealed class JobsConnectionSettingsTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_tuned_connection_prepares_statements_and_plans_each_execution_with_its_values()
    {
        var connection = new NpgsqlConnectionStringBuilder(db.AppConnectionString) { Options = "-c statement_timeout=60000" };
        JobsConnectionSettings.ApplyTo(connection);
        await using var source = NpgsqlDataSource.Create(connection.ConnectionString);
        await using var command = source.CreateCommand("SELECT current_setting('plan_cache_mode') || ' ' || current_setting('statement_timeout')");

        Assert.Equal("force_custom_plan 1min", await command.ExecuteScalarAsync());
        Assert.Equal(JobsConnectionSettings.DefaultMaxAutoPrepare, connection.MaxAutoPrepare);
        Assert.True(connection.NoResetOnClose);
    }

    [Fact]
    public async Task A_claim_commits_without_waiting_for_its_flush_and_the_connection_waits_again_after_it()
    {
        await using var source = NpgsqlDataSource.Create(db.AppConnectionString);
        await using var connection = await source.OpenConnectionAsync();
        await using var show = new NpgsqlCommand("SELECT current_setting('synchronous_commit')", connection);

        await using (var claim = await connection.BeginTransactionAsync())
        {
            await using var configure = new NpgsqlCommand(JobSql.ConfigureClaimTransaction, connection, claim);
            await configure.ExecuteNonQueryAsync();
            Assert.Equal("off", await show.ExecuteScalarAsync());
            await claim.CommitAsync();
        }

        Assert.Equal("on", await show.ExecuteScalarAsync());
    }

    [Fact]
    public void A_prepared_statement_count_in_the_connection_string_is_kept()
    {
        var connection = new NpgsqlConnectionStringBuilder(db.AppConnectionString) { MaxAutoPrepare = 5 };
        JobsConnectionSettings.ApplyTo(connection);

        Assert.Equal(5, connection.MaxAutoPrepare);
    }
}
