using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.Server;

namespace Bench;

/// <summary>
/// Why it exists: Hangfire with Hangfire.PostgreSql is the peer .NET teams know; this runs it
/// from the same console, as its own process: <c>hangfire setup | enqueue N | work | produce RATE SECONDS</c>,
/// on the database in <c>BENCH_CONNECTION</c>.
/// </summary>
internal static class HangfireCommands
{
    public const int WorkerCount = 50;
    public static readonly TimeSpan QueuePollInterval = TimeSpan.FromMilliseconds(100);

    public const string Settings =
        "Hangfire.Core 1.8.25 + Hangfire.PostgreSql 1.21.1: one BackgroundJobServer, WorkerCount 50, QueuePollInterval 100 ms, EnableLongPolling true (LISTEN/NOTIFY wake-up), UseSlidingInvisibilityTimeout true with InvisibilityTimeout 5 s (default 30 min; a lost fetch comes back after it); no bulk enqueue API, so jobs are added with BackgroundJobClient.Enqueue from 16 parallel callers";

    private static readonly ConcurrentQueue<(long Created, long Started)> Starts = new();

    public static async Task<int> RunAsync(string[] args)
    {
        var connection = BenchEnvironment.Required("BENCH_CONNECTION");
        var options = new PostgreSqlStorageOptions
        {
            PrepareSchemaIfNecessary = args[0] == "setup",
            QueuePollInterval = QueuePollInterval,
            EnableLongPolling = true,
            UseSlidingInvisibilityTimeout = true,
            // As short as our lease in the benchmark (Ours.LeaseDuration): a fetch Hangfire.PostgreSql
            // loses (the queue row stays fetched, the job Enqueued, no worker heartbeats it) comes back
            // after this, not after the default 30 minutes, which stalled whole drains past their deadline.
            InvisibilityTimeout = TimeSpan.FromSeconds(5),
        };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connection, options), options);
        var client = new BackgroundJobClient(storage);
        switch (args[0])
        {
            case "setup":
                return 0;
            case "enqueue":
                await Parallel.ForAsync(0, int.Parse(args[1], CultureInfo.InvariantCulture), new ParallelOptions { MaxDegreeOfParallelism = 16 },
                    (_, _) =>
                    {
                        client.Enqueue(() => Noop(null));
                        return ValueTask.CompletedTask;
                    }).ConfigureAwait(false);
                return 0;
            case "produce":
                return await OpenLoopProducer.RunAsync(int.Parse(args[1], CultureInfo.InvariantCulture), double.Parse(args[2], CultureInfo.InvariantCulture), single: false, logFile: "",
                    (count, cancellationToken) => Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, (_, _) =>
                    {
                        client.Enqueue(() => Noop(null));
                        return ValueTask.CompletedTask;
                    })).ConfigureAwait(false);
            case "work":
                return await WorkAsync(storage).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync($"unknown hangfire command '{args[0]}'; expected setup, enqueue, work or produce").ConfigureAwait(false);
                return 2;
        }
    }

    private static async Task<int> WorkAsync(JobStorage storage)
    {
        using var stopped = new SemaphoreSlim(0);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopped.Release();
        });
        using (new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = WorkerCount, Queues = ["default"] }, storage))
        {
            Console.WriteLine("ready");
            await stopped.WaitAsync().ConfigureAwait(false);
        }

        if (Environment.GetEnvironmentVariable("BENCH_LATENCY_FILE") is { Length: > 0 } file)
        {
            await File.WriteAllLinesAsync(file, Starts.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Created} {s.Started}"))).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>The no-op job; Hangfire passes its <see cref="PerformContext"/> in place of the null.</summary>
    public static void Noop(PerformContext? context)
    {
        var created = new DateTimeOffset(DateTime.SpecifyKind(context!.BackgroundJob.CreatedAt, DateTimeKind.Utc));
        Starts.Enqueue((created.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
    }
}
