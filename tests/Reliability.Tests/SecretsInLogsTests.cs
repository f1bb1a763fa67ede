using JobEngine;

namespace Reliability.Tests;

[Collection(ChaosStackCollection.Name)]
public sealed class SecretsInLogsTests
{
    // The Migrator migrates a database and a Worker (logging at Debug) delivers webhooks that
    // succeed, fail and are refused, and runs a failing job; every line both processes print is
    // kept. None may hold a password of either role, the Redis password or the webhook secret.
    [Fact]
    public async Task The_logs_of_a_migration_and_a_worker_run_hold_no_password_and_no_webhook_secret()
    {
        await using var stack = await ChaosStack.StartAsync();
        var migratorLog = new StringWriter();
        var workerLog = new StringWriter();
        var (_, app) = await stack.CreateDatabaseAsync("secrets", migratorLog);
        await using var receiver = LoopbackHttpServer.Answering("204 No Content");
        await using var failing = LoopbackHttpServer.Answering("500 Internal Server Error");
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(app);
        var client = new JobClient(dataSource);
        var jobs = await client.EnqueueManyAsync([
            NewJob.Create("webhook", new { url = receiver.Url, payload = new { order = 1 } }) with { MaxAttempts = 1 },
            NewJob.Create("webhook", new { url = failing.Url, payload = new { order = 2 } }) with { MaxAttempts = 1 },
            NewJob.Create("webhook", new { url = "http://169.254.169.254/latest/meta-data/", payload = new { order = 3 } }) with { MaxAttempts = 1 },
            NewJob.Create("fail", new { untilAttempt = 9 }) with { MaxAttempts = 1 }]);

        using (WorkerProcess.Start(app, new Dictionary<string, string>
        {
            ["Webhooks__SigningSecret"] = stack.WebhookSecret,
            ["Logging__LogLevel__Default"] = "Debug",
        }, workerLog))
        {
            await Eventually.WaitForAsync(
                async () => (await Task.WhenAll(jobs.Select(j => client.GetAsync(j.Job.Id)))).Count(j => j!.FinalizedAt is not null),
                finalized => finalized == jobs.Count, "every job to finish");
        }

        var logs = migratorLog.ToString() + workerLog.ToString();
        Assert.Single(receiver.Requests);
        Assert.Contains("answered 500", logs, StringComparison.Ordinal);
        Assert.Contains("link-local", logs, StringComparison.Ordinal);
        Assert.Contains("jobs_app", logs, StringComparison.Ordinal);
        Assert.All(stack.Secrets, secret => Assert.False(logs.Contains(secret.Value, StringComparison.Ordinal), $"the {secret.Key} is in the logs"));
    }
}
