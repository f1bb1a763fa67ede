using JobEngine;
using JobEngine.Queues;
using Npgsql;

namespace Bench.Contenders;

/// <summary>
/// Why it exists: our engine as users run it: the published Worker.dll (Release, ReadyToRun) as its own process (noop kind
/// from Jobs:DiagnosticKinds, connected as the least-privileged jobs_app role), the schema from the
/// real Migrator, jobs enqueued in bulk through <see cref="JobClient.EnqueueManyAsync(IReadOnlyList{NewJob}, CancellationToken)"/>.
/// </summary>
internal sealed class Ours(BenchEnvironment env, bool keepsHistory = true) : Contender(env)
{
    /// <summary>The name of our engine run with <c>RetentionPeriod</c> zero: finished jobs are deleted, as Graphile Worker and pg-boss's drain do.</summary>
    public const string NoHistoryName = "ours-no-history";

    /// <summary>Slots per worker process for the <c>default</c> queue: no-op jobs need many to fill claim batches.</summary>
    public const int Concurrency = 2000;

    /// <summary>Most jobs one claim query takes.</summary>
    public const int ClaimBatchSize = 1000;

    /// <summary>
    /// Shorter than the 30 s default, with a 1 s rescue sweep: the engine at this commit loses the
    /// outcome of some runs (their lease then runs out and they are rescued and run again; see the
    /// report), and with the default each such stall costs 30 s. Reported as rescued_jobs.
    /// </summary>
    public const string LeaseDuration = "00:00:05";

    private const int EnqueueBatch = 5000;

    public override string Name => keepsHistory ? "ours" : NoHistoryName;

    public override string Settings =>
        (keepsHistory ? "" : "as ours, with Jobs__Worker__RetentionPeriod=00:00:00 (no history: finished jobs are deleted); ") +
        $"Worker.dll (published: Release, ReadyToRun): Jobs__Worker__Queues__default={Concurrency}, Jobs__Worker__ClaimBatchSize={ClaimBatchSize}, Jobs__Worker__LeaseDuration={LeaseDuration} with RescueInterval 00:00:01 (defaults 30 s and 5 s, shortened because lost outcomes wait out a lease: see rescued_jobs), CompleteBatchSize 2000 (default), PollInterval 1 s, LISTEN/NOTIFY on, no OTLP endpoint (so no span or metric is built; the peers build none either); jobs added with JobClient.EnqueueManyAsync in batches of {EnqueueBatch:N0}";

    public override string AnyLeftSql => BenchSql.AnyLeftOurs;

    public override Task SetupAsync(BenchDatabase db, CancellationToken cancellationToken) => MigrateAsync(db, ["apply"], cancellationToken);

    /// <summary>Runs the real Migrator (<c>apply</c>, <c>rollback 1</c>...) on <paramref name="db"/> as its owner.</summary>
    public async Task MigrateAsync(BenchDatabase db, string[] args, CancellationToken cancellationToken)
    {
        using var migrator = ChildProcess.Start("dotnet", ["Migrator.dll", .. args], Env.MigratorDir, new Dictionary<string, string>
        {
            ["ConnectionStrings__jobsdb"] = db.OwnerConnection,
            ["Logging__LogLevel__Default"] = "Warning",
        }, LogFile("migrator"));
        await migrator.WaitForSuccessAsync(TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
    }

    public override async Task EnqueueAsync(BenchDatabase db, int count, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(db.AppConnection);
        await EnqueueNoopsAsync(new JobClient(source), count, EnqueueBatch, cancellationToken).ConfigureAwait(false);
    }

    public static async Task EnqueueNoopsAsync(JobClient client, int count, int batchSize, CancellationToken cancellationToken)
    {
        for (var done = 0; done < count; done += batchSize)
        {
            var jobs = Enumerable.Range(0, Math.Min(batchSize, count - done)).Select(_ => new NewJob("noop")).ToArray();
            await client.EnqueueManyAsync(jobs, cancellationToken).ConfigureAwait(false);
        }
    }

    public override ChildProcess StartWorker(BenchDatabase db, int index, string latencyFile) =>
        ChildProcess.Start("dotnet", ["Worker.dll"], Env.WorkerDir, new Dictionary<string, string>
        {
            ["Jobs__Worker__RetentionPeriod"] = keepsHistory ? "1.00:00:00" : "00:00:00",
            ["ConnectionStrings__jobsdb"] = db.AppConnection,
            ["Jobs__DiagnosticKinds"] = "true",
            ["Jobs__Worker__Queues__default"] = Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Jobs__Worker__ClaimBatchSize"] = ClaimBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Jobs__Worker__LeaseDuration"] = LeaseDuration,
            ["Jobs__Worker__RescueInterval"] = "00:00:01",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            ["OTEL_SERVICE_NAME"] = $"bench-worker-{index}",
            // The noop handler's first line notes its start, as the peers' handlers do (see JobStartLog).
            ["Jobs__DiagnosticStartsFile"] = latencyFile,
        }, LogFile($"worker{index}"));

    /// <summary>The engine's ResumeQueue: a paused queue's claims take nothing, and the commit wakes the Workers.</summary>
    public override string HoldJobsSql => BenchSql.ResumeOursQueue;

    protected override object[] HoldJobsParameters => [NewJob.DefaultQueue];

    /// <summary>
    /// Our queue is paused (committed) and the hold resumes it: a lock on jobs.job would also hold the
    /// Workers' warm-up, which runs before they register (see WorkerWarmup) and claims nothing.
    /// </summary>
    public override async Task<NpgsqlTransaction> HoldJobsAsync(BenchDatabase db, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await new QueuePauses(db.OwnerSource).PauseAsync(NewJob.DefaultQueue, "bench", cancellationToken).ConfigureAwait(false);
        return await base.HoldJobsAsync(db, connection, cancellationToken).ConfigureAwait(false);
    }

    public override Task WaitUntilReadyAsync(BenchDatabase db, IReadOnlyList<ChildProcess> workers, CancellationToken cancellationToken) =>
        Poll.UntilAsync(
            async () => await db.ScalarAsync(BenchSql.WorkersRegistered, cancellationToken, (double)workers.Min(w => w.StartedUnixMs)).ConfigureAwait(false) >= workers.Count,
            TimeSpan.FromSeconds(60), $"{workers.Count} Worker(s) to register", cancellationToken, workers);

    public override async Task<ProducerSummary> ProduceAsync(BenchDatabase db, int rate, double seconds, CancellationToken cancellationToken)
    {
        using var producer = StartProducer(db, rate, seconds, single: false, logFile: "");
        return ParseSummary(await producer.WaitForSuccessAsync(TimeSpan.FromSeconds(seconds + 60), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The producer process (see <see cref="OpenLoopProducer"/>); <paramref name="single"/> sends one job per insert, like an API would.</summary>
    public ChildProcess StartProducer(BenchDatabase db, int rate, double seconds, bool single, string logFile)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return ChildProcess.Start("dotnet",
            [BenchEnvironment.BenchDll, "produce-ours", rate.ToString(inv), seconds.ToString(inv), single ? "single" : "batch", logFile],
            Env.WorkDir, new Dictionary<string, string> { ["BENCH_CONNECTION"] = db.AppConnection }, LogFile("producer"));
    }

    public override Task<long> DrainMarkAsync(BenchDatabase db, CancellationToken cancellationToken) =>
        db.ScalarAsync(BenchSql.MaxJobId, cancellationToken);

    /// <summary>
    /// Rescued jobs (their first run's outcome was lost and they waited out a lease), and the rate
    /// until 90% were finalized, which shows the engine's pace apart from such a stall.
    /// </summary>
    public override async Task<Dictionary<string, double>> DiagnoseDrainAsync(BenchDatabase db, long mark, CancellationToken cancellationToken)
    {
        await using var command = db.OwnerSource.CreateCommand(BenchSql.OursDrainDiagnosis);
        command.Parameters.Add(new() { Value = mark });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var seconds = reader.IsDBNull(1) ? double.NaN : Convert.ToDouble(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture);
        return new()
        {
            ["rescued_jobs"] = reader.GetInt64(0),
            ["jobs_per_s_first_90_percent"] = 0.9 * reader.GetInt64(2) / seconds,
        };
    }
}
