using System.Globalization;
using JobEngine;
using Npgsql;

namespace Bench;

/// <summary>Why it exists: our producer process, a JobClient on <c>BENCH_CONNECTION</c> driven by <see cref="OpenLoopProducer"/>.</summary>
internal static class OursProducer
{
    public static async Task<int> RunAsync(string[] args)
    {
        var connection = new NpgsqlConnectionStringBuilder(BenchEnvironment.Required("BENCH_CONNECTION"))
        {
            ApplicationName = "bench-producer",
            // A blocked insert waits for its connection rather than failing at once: failures then
            // mean what a caller would see after half a minute.
            Timeout = 30,
            MaxPoolSize = 100,
        };
        // As the Api and the Worker connect (prepared statements): a user's process enqueuing with JobClient would.
        JobsConnectionSettings.ApplyTo(connection);
        await using var source = NpgsqlDataSource.Create(connection.ConnectionString);
        var client = new JobClient(source);
        return await OpenLoopProducer.RunAsync(
            int.Parse(args[0], CultureInfo.InvariantCulture),
            double.Parse(args[1], CultureInfo.InvariantCulture),
            single: args[2] == "single",
            logFile: args.Length > 3 ? args[3] : "",
            (count, cancellationToken) => count == 1
                ? client.EnqueueAsync(new NewJob("noop"), cancellationToken)
                : client.EnqueueManyAsync([.. Enumerable.Range(0, count).Select(_ => new NewJob("noop"))], cancellationToken)).ConfigureAwait(false);
    }
}
