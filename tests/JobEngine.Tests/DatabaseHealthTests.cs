using JobEngine.Health;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Tests;

public sealed class DatabaseHealthTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;

    public DatabaseHealthTests(TestDatabase db) => _db = db;

    [Fact]
    public async Task The_report_shows_statements_indexes_tables_and_connections_to_the_services_role()
    {
        var client = new JobClient(_db.App);
        await client.EnqueueManyAsync([.. Enumerable.Range(0, 50).Select(_ => new NewJob("noop") { Queue = "health" })]);

        var report = await new DatabaseHealthClient(_db.App, Options.Create(new DatabaseHealthOptions())).ReadAsync(topStatements: 100);

        Assert.Contains(report.TopStatements, s => s.Query.Contains("INSERT INTO jobs.job", StringComparison.Ordinal) && s.Calls >= 1);
        Assert.Contains(report.Indexes, i => i.Index == "job_claim_idx" && i.Valid);
        Assert.Contains(report.Indexes, i => i.Index == "job_history_kind_id_idx" && i.NeverUsed);
        Assert.DoesNotContain(report.Indexes, i => i.Index == "job_pkey" && i.NeverUsed);
        Assert.Contains(report.Tables, t => t.Table == "job");
        Assert.NotEmpty(report.Connections);
        Assert.NotNull(report.OldestWaitingJobSeconds);
    }

    [Fact]
    public async Task Health_is_degraded_while_an_old_transaction_holds_back_vacuum_and_healthy_after()
    {
        var thresholds = new DatabaseHealthOptions { MaxXminHorizonAge = TimeSpan.FromMilliseconds(200), MaxWaitingJobAge = TimeSpan.FromDays(1) };
        var check = new JobsDatabaseHealthCheck(new DatabaseHealthClient(_db.App, Options.Create(thresholds)), Options.Create(thresholds));
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("jobs-database", check, HealthStatus.Degraded, null) };

        var holder = new NpgsqlConnectionStringBuilder(_db.OwnerConnectionString) { ApplicationName = "held-open", Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(holder))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
            await using (var snapshot = new NpgsqlCommand("SELECT count(*) FROM jobs.kind", connection, transaction))
            {
                await snapshot.ExecuteScalarAsync();
            }

            var held = await Eventually.WaitForAsync(() => check.CheckHealthAsync(context), r => r.Status == HealthStatus.Degraded, "the horizon to pass 200 ms");
            Assert.Contains("'held-open'", held.Description, StringComparison.Ordinal);
            Assert.Contains("held back vacuum", held.Description, StringComparison.Ordinal);
        }

        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(context)).Status);
    }

    [Fact]
    public async Task Health_is_degraded_when_the_oldest_waiting_job_is_older_than_its_threshold()
    {
        await _db.ExecuteAsync("INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at) VALUES ('available', 'nobody-runs-this', 'noop', '{}', 5, 1, now() - interval '10 minutes')");
        var thresholds = new DatabaseHealthOptions { MaxWaitingJobAge = TimeSpan.FromMinutes(5) };
        var check = new JobsDatabaseHealthCheck(new DatabaseHealthClient(_db.App, Options.Create(thresholds)), Options.Create(thresholds));

        var result = await check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("jobs-database", check, HealthStatus.Degraded, null) });

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("workers do not keep up", result.Description, StringComparison.Ordinal);
    }
}
