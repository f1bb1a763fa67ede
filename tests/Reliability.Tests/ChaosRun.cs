using System.Diagnostics;
using JobEngine;
using Npgsql;

namespace Reliability.Tests;

/// <summary>
/// Why it exists: a job system earns trust by what happens on the bad day, so this inflicts it on
/// real processes and a real PostgreSQL and counts the damage. Jobs of kind <c>record</c> arrive
/// evenly while one of the Worker processes is SIGKILLed and restarted every couple of seconds;
/// PostgreSQL is restarted once, the LISTEN connections are terminated from the server once. Then
/// it waits for the queue to drain and reads, from the side tables the handler writes, every
/// execution: jobs lost, jobs stuck, duplicate executions (each traced to a killed worker) and
/// duplicate effects. Workflows (a fan-out and a fan-in of the same kind) flow among the jobs: every
/// step must run only after its dependencies completed, and none may be left waiting. One harness
/// for the test suite's short run and bench/chaos's long one.
/// </summary>
public sealed class ChaosRun(ChaosSettings settings, ChaosStack stack, string logDirectory)
{
    private const int EnqueueBatch = 500;

    // Waiting workflow steps are in jobs.job_pending, not in jobs.job_all: a step stuck waiting counts as unfinished.
    private const string UnfinishedSql = "SELECT (SELECT count(*) FROM jobs.job_all WHERE state <> 'completed') + (SELECT count(*) FROM jobs.job_pending)";

    public async Task<ChaosReport> RunAsync()
    {
        Directory.CreateDirectory(logDirectory);
        await using var migratorLog = new StreamWriter(Path.Combine(logDirectory, "migrator.log"));
        await using var workerLog = new StreamWriter(Path.Combine(logDirectory, "workers.log"));
        var (ownerConnection, appConnection) = await stack.CreateDatabaseAsync("chaos", migratorLog);
        await using var owner = NpgsqlDataSource.Create(ownerConnection);
        await using var app = NpgsqlDataSource.Create(appConnection);
        await CreateSideTablesAsync(owner);

        using var fleet = new WorkerFleet(settings.Workers, appConnection, new Dictionary<string, string>
        {
            ["Jobs__Worker__Queues__default"] = settings.Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Jobs__Worker__LeaseDuration"] = settings.Lease.ToString(),
            ["Jobs__Worker__RescueInterval"] = "00:00:01",
            ["Jobs__Worker__Retry__BaseDelay"] = "00:00:00.200",
            ["Jobs__Worker__Retry__MaxDelay"] = "00:00:02",
            ["Webhooks__SigningSecret"] = stack.WebhookSecret,
        }, workerLog);
        fleet.Supervise();
        await WaitAsync(fleet, async () => (await ListenerBackendsAsync(owner)).Count == settings.Workers, "every worker to listen", TimeSpan.FromMinutes(2));

        var clock = Stopwatch.StartNew();
        var enqueuer = new Enqueuer(app, settings);
        var enqueuing = Task.Run(enqueuer.RunAsync);
        var nextKill = settings.KillEvery;
        long inFlightAtKills = 0;
        double postgresRecovery = -1, listenerRecovery = -1;
        var listenersTerminated = 0;
        while (!enqueuing.IsCompleted || clock.Elapsed < settings.EnqueueFor)
        {
            fleet.Supervise();
            if (postgresRecovery < 0 && clock.Elapsed >= settings.EnqueueFor * 0.4)
            {
                postgresRecovery = await RestartPostgresAsync(fleet, owner);
            }
            else if (listenerRecovery < 0 && clock.Elapsed >= settings.EnqueueFor * 0.7)
            {
                (listenersTerminated, listenerRecovery) = await TerminateListenersAsync(fleet, owner);
            }
            else if (clock.Elapsed >= nextKill)
            {
                var victim = fleet.PickVictim();
                inFlightAtKills += await Retrying(() => ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.job_all WHERE state = 'running' AND split_part(attempted_by, ':', 2) = $1", victim.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                await fleet.KillAndRestartAsync(victim);
                nextKill = clock.Elapsed + settings.KillEvery;
            }

            await Task.Delay(100);
        }

        await enqueuing;
        await WaitAsync(fleet, async () => await ScalarAsync<long>(owner, UnfinishedSql) == 0,
            "every job and every workflow step to complete", settings.Lease * 3 + TimeSpan.FromMinutes(3));
        var seconds = clock.Elapsed.TotalSeconds;
        fleet.Dispose();
        await workerLog.FlushAsync();
        await migratorLog.FlushAsync();
        return await CountAsync(owner, fleet, enqueuer, seconds, inFlightAtKills, postgresRecovery, listenersTerminated, listenerRecovery);
    }

    // The side tables are the harness's, not the product's: created by the owner for this run,
    // with INSERT granted to the services' role the record handler writes as (and SELECT of the
    // key, which ON CONFLICT needs to find the conflicting row).
    private static async Task CreateSideTablesAsync(NpgsqlDataSource owner)
    {
        await using var command = owner.CreateCommand("""
            CREATE SCHEMA diagnostics;
            CREATE TABLE diagnostics.execution (job_id bigint NOT NULL, attempt int NOT NULL, worker_id text NOT NULL, pid int NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp());
            CREATE TABLE diagnostics.effect (job_id bigint PRIMARY KEY, worker_id text NOT NULL);
            GRANT USAGE ON SCHEMA diagnostics TO jobs_app;
            GRANT INSERT ON diagnostics.execution, diagnostics.effect TO jobs_app;
            GRANT SELECT (job_id) ON diagnostics.effect TO jobs_app;
            """);
        await command.ExecuteNonQueryAsync();
    }

    // Kills pause while PostgreSQL restarts; the run goes on once every worker listens again on a
    // new backend and jobs complete again: producers, completer, lease keeper and notifier came back.
    private async Task<double> RestartPostgresAsync(WorkerFleet fleet, NpgsqlDataSource owner)
    {
        var before = await ListenerBackendsAsync(owner);
        var restarted = Stopwatch.StartNew();
        await stack.RestartPostgresAsync();
        var completed = await Retrying(() => CompletedAsync(owner));
        await WaitAsync(fleet, async () =>
            (await ListenerBackendsAsync(owner)).Except(before).Count() == settings.Workers && await CompletedAsync(owner) > completed,
            "workers to listen and complete jobs again after the PostgreSQL restart", TimeSpan.FromMinutes(2));
        return restarted.Elapsed.TotalSeconds;
    }

    private async Task<(int Terminated, double Recovery)> TerminateListenersAsync(WorkerFleet fleet, NpgsqlDataSource owner)
    {
        await WaitAsync(fleet, async () => (await ListenerBackendsAsync(owner)).Count == settings.Workers, "every worker to listen", TimeSpan.FromMinutes(1));
        var terminated = await ListenerBackendsAsync(owner);
        var recovery = Stopwatch.StartNew();
        await ScalarAsync<long>(owner, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE '%listener'");
        await WaitAsync(fleet, async () => (await ListenerBackendsAsync(owner)).Except(terminated).Count() == settings.Workers,
            "every worker to listen again after its LISTEN backend was terminated", TimeSpan.FromMinutes(1));
        return (terminated.Count, recovery.Elapsed.TotalSeconds);
    }

    private async Task<ChaosReport> CountAsync(NpgsqlDataSource owner, WorkerFleet fleet, Enqueuer enqueuer, double seconds, long inFlightAtKills,
        double postgresRecovery, int listenersTerminated, double listenerRecovery)
    {
        var killed = fleet.Killed.ToHashSet();
        var executions = new List<(long Job, int Attempt, int Pid)>();
        await using (var command = owner.CreateCommand("SELECT job_id, attempt, pid FROM diagnostics.execution ORDER BY job_id, attempt, started_at"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                executions.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt32(2)));
            }
        }

        // A duplicate is every execution of a job but its last; it is explained when the worker
        // that ran it was one the harness killed (the run was in flight when the process died).
        var duplicates = executions.GroupBy(e => e.Job).SelectMany(g => g.SkipLast(1)).ToList();
        var untraced = duplicates.Where(d => !killed.Contains(d.Pid)).Select(d => $"job {d.Job} attempt {d.Attempt} on pid {d.Pid}").ToList();
        var secrets = Directory.GetFiles(logDirectory, "*.log").Select(File.ReadAllText).ToList();
        return new ChaosReport
        {
            Settings = settings,
            JobsEnqueued = settings.AllJobs,
            JobRows = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.job_all"),
            Completed = await CompletedAsync(owner),
            NotCompleted = await ScalarAsync<long>(owner, UnfinishedSql),
            LeftRunning = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.job_all WHERE state = 'running' OR lease_expires_at IS NOT NULL"),
            Seconds = seconds,
            JobsPerSecond = settings.AllJobs / seconds,
            Kills = fleet.Killed.Count,
            InFlightAtKills = inFlightAtKills,
            WorkersStarted = fleet.Started,
            UnexpectedWorkerExits = fleet.UnexpectedExits,
            PostgresRestarts = postgresRecovery >= 0 ? 1 : 0,
            PostgresRecoverySeconds = postgresRecovery,
            ListenerBackendsTerminated = listenersTerminated,
            ListenerRecoverySeconds = listenerRecovery,
            EnqueueRetries = enqueuer.Retries,
            WorkflowEnqueueRetries = enqueuer.WorkflowRetries,
            Workflows = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.workflow"),
            WorkflowSteps = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.workflow_step"),
            BatchEnqueueRetries = enqueuer.BatchRetries,
            Batches = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.batch"),
            BatchesFired = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.batch WHERE fired_at IS NOT NULL"),
            // Each batch has one callback job, completed, whose args carry the batch's counts as its
            // jobs ended: every one of them completed.
            BatchCallbacksWithWrongCounts = await ScalarAsync<long>(owner, """
                SELECT count(*)
                FROM jobs.batch AS b
                LEFT JOIN jobs.job_all AS c ON c.id = b.callback_id
                WHERE c.state IS DISTINCT FROM 'completed'
                   OR b.job_count <> $1
                   OR (c.args -> 'batch' ->> 'total')::int IS DISTINCT FROM $1
                   OR (c.args -> 'batch' ->> 'completed')::int IS DISTINCT FROM $1
                """, ChaosSettings.JobsPerBatch),
            // A step is released in the transaction that finalizes its last dependency, so every run of
            // it starts after that transaction began (finalized_at is its now()): an earlier start is a
            // step that ran before its dependency completed.
            StepsRunBeforeTheirDependencyCompleted = await ScalarAsync<long>(owner, """
                SELECT count(DISTINCT d.dependent_id)
                FROM jobs.job_dependency AS d
                JOIN jobs.job_all AS dependency ON dependency.id = d.job_id
                JOIN diagnostics.execution AS e ON e.job_id = d.dependent_id
                WHERE dependency.state <> 'completed' OR e.started_at < dependency.finalized_at
                """),
            Executions = executions.Count,
            DuplicateExecutions = duplicates.Count,
            DuplicatesTracedToKilledWorkers = duplicates.Count - untraced.Count,
            UntracedDuplicates = untraced.Take(20).ToList(),
            SameAttemptRunTwice = executions.GroupBy(e => (e.Job, e.Attempt)).Count(g => g.Count() > 1),
            JobsRescuedAfterLeaseExpiry = await ScalarAsync<long>(owner, """SELECT count(*) FROM jobs.job_all WHERE errors @> '[{"type": "LeaseExpired"}]'"""),
            FailedAttemptsOtherThanLeaseExpiry = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.job_all, jsonb_array_elements(errors) AS e WHERE e->>'type' <> 'LeaseExpired'"),
            FailedAttemptTypes = await ScalarAsync<string>(owner, """
                SELECT coalesce(string_agg(type || ': ' || n || ' (' || message || ')', '; ' ORDER BY n DESC), '')
                FROM (SELECT e ->> 'type' AS type, count(*) AS n, left(min(e ->> 'message'), 120) AS message
                      FROM jobs.job_all, jsonb_array_elements(errors) AS e
                      WHERE e ->> 'type' <> 'LeaseExpired'
                      GROUP BY 1) AS t
                """),
            Effects = await ScalarAsync<long>(owner, "SELECT count(*) FROM diagnostics.effect"),
            DuplicateEffects = await ScalarAsync<long>(owner, "SELECT count(*) - count(DISTINCT job_id) FROM diagnostics.effect"),
            CompletedJobsWithoutEffect = await ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.job_all j WHERE state = 'completed' AND NOT EXISTS (SELECT 1 FROM diagnostics.effect e WHERE e.job_id = j.id)"),
            SecretsFoundInLogs = [.. stack.Secrets.Where(s => secrets.Any(log => log.Contains(s.Value, StringComparison.Ordinal))).Select(s => s.Key)],
            LogDirectory = logDirectory,
        };
    }

    private static Task<long> CompletedAsync(NpgsqlDataSource owner) =>
        ScalarAsync<long>(owner, "SELECT count(*) FROM jobs.job_all WHERE state = 'completed'");

    private static async Task<List<int>> ListenerBackendsAsync(NpgsqlDataSource owner)
    {
        var pids = new List<int>();
        await using var command = owner.CreateCommand("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE '%listener'");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource source, string sql, params object[] parameters)
    {
        await using var command = source.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    // The harness's own reads meet the same outage the workers do: a read that fails on a
    // connection PostgreSQL closed is simply asked again.
    private static async Task<T> Retrying<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read();
            }
            catch (NpgsqlException) when (attempt < 100)
            {
                await Task.Delay(200);
            }
        }
    }

    // Polls (never a fixed sleep) while keeping the fleet at full strength.
    private static Task WaitAsync(WorkerFleet fleet, Func<Task<bool>> condition, string what, TimeSpan timeout) =>
        Eventually.WaitForAsync(
            async () =>
            {
                fleet.Supervise();
                try
                {
                    return await condition();
                }
                catch (NpgsqlException)
                {
                    return false;
                }
            },
            done => done, what, timeout);

    /// <summary>
    /// Enqueues the run's jobs evenly over its duration, as a producer would, retrying a batch PostgreSQL
    /// refused with the same idempotency keys; its workflows and batches (of the product, opened,
    /// added to, sealed) go between the enqueue batches, each retried only when no workflow or batch
    /// of its name committed (neither takes an idempotency key).
    /// </summary>
    private sealed class Enqueuer(NpgsqlDataSource app, ChaosSettings settings)
    {
        public int Retries { get; private set; }

        public int WorkflowRetries { get; private set; }

        public int BatchRetries { get; private set; }

        public async Task RunAsync()
        {
            var client = new JobClient(app);
            var clock = Stopwatch.StartNew();
            var batches = (settings.Jobs + EnqueueBatch - 1) / EnqueueBatch;
            for (var b = 0; b < batches; b++)
            {
                var due = settings.EnqueueFor * b / batches;
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed);
                }

                var jobs = Enumerable.Range(b * EnqueueBatch, Math.Min(EnqueueBatch, settings.Jobs - (b * EnqueueBatch)))
                    .Select(i => NewJob.Create("record", new { ms = settings.WorkMs }) with { IdempotencyKey = $"chaos-{i}" })
                    .ToList();
                await Retrying(async () =>
                {
                    try
                    {
                        return await client.EnqueueManyAsync(jobs);
                    }
                    catch (NpgsqlException)
                    {
                        Retries++;
                        throw;
                    }
                });

                for (var w = settings.Workflows * b / batches; w < settings.Workflows * (b + 1) / batches; w++)
                {
                    await EnqueueWorkflowAsync(client, $"chaos-workflow-{w}");
                }

                for (var k = settings.Batches * b / batches; k < settings.Batches * (b + 1) / batches; k++)
                {
                    await EnqueueBatchAsync(client, $"chaos-batch-{k}");
                }
            }
        }

        // Open with half the jobs, add the other half, seal: each step retried only when what it
        // writes did not commit (a batch takes no idempotency key; sealing twice answers the same).
        private async Task EnqueueBatchAsync(JobClient client, string name)
        {
            const int half = ChaosSettings.JobsPerBatch / 2;
            NewJob[] Jobs() => [.. Enumerable.Range(0, half).Select(_ => NewJob.Create("record", new { ms = settings.WorkMs }))];
            var id = await Retrying(async () =>
            {
                try
                {
                    var committed = await ScalarAsync<long>(app, "SELECT coalesce((SELECT id FROM jobs.batch WHERE name = $1), 0)", name);
                    return committed > 0
                        ? committed
                        : (await client.EnqueueBatchAsync(new NewBatch(NewJob.Create("record", new { ms = settings.WorkMs }), Jobs()) { Name = name, Open = true })).BatchId;
                }
                catch (NpgsqlException)
                {
                    BatchRetries++;
                    throw;
                }
            });
            await Retrying(async () =>
            {
                try
                {
                    if (await ScalarAsync<int>(app, "SELECT job_count FROM jobs.batch WHERE id = $1", id) < ChaosSettings.JobsPerBatch)
                    {
                        await client.AddToBatchAsync(id, Jobs());
                    }

                    await client.SealBatchAsync(id);
                    return true;
                }
                catch (NpgsqlException)
                {
                    BatchRetries++;
                    throw;
                }
            });
        }

        private async Task EnqueueWorkflowAsync(JobClient client, string name)
        {
            NewWorkflowStep Step(string step, params string[] dependsOn) =>
                new(step, NewJob.Create("record", new { ms = settings.WorkMs })) { DependsOn = dependsOn };
            var workflow = new NewWorkflow(
            [
                Step("extract"),
                Step("part-1", "extract"), Step("part-2", "extract"), Step("part-3", "extract"), Step("part-4", "extract"),
                Step("merge", "part-1", "part-2", "part-3", "part-4"),
                Step("publish", "merge"),
            ])
            { Name = name };
            await Retrying(async () =>
            {
                try
                {
                    if (await ScalarAsync<long>(app, "SELECT count(*) FROM jobs.workflow WHERE name = $1", name) == 0)
                    {
                        await client.EnqueueWorkflowAsync(workflow);
                    }

                    return true;
                }
                catch (NpgsqlException)
                {
                    WorkflowRetries++;
                    throw;
                }
            });
        }
    }
}
