using Npgsql;

namespace Bench.Contenders;

/// <summary>What a producer process reports when it is done: jobs sent, failed sends, and the rate it held.</summary>
internal sealed record ProducerSummary(long Sent, long Errors, double Seconds, double Rate);

/// <summary>
/// Why it exists: the scenarios drive every queue the same way (fresh schema, bulk enqueue, one
/// or more worker processes, a producer at a fixed rate, start latencies), so each contender only
/// says how it does those things and how many of its jobs remain.
/// </summary>
internal abstract class Contender(BenchEnvironment env)
{
    protected BenchEnvironment Env { get; } = env;

    /// <summary>The name in latest.json: <c>ours</c>, <c>graphile-worker</c>, <c>pg-boss</c>, <c>hangfire</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The knobs this contender runs with, printed with the results.</summary>
    public abstract string Settings { get; }

    /// <summary>1 while any of its jobs is unfinished, else 0: a cheap EXISTS the drain's end is timed by.</summary>
    public abstract string AnyLeftSql { get; }

    public abstract Task SetupAsync(BenchDatabase db, CancellationToken cancellationToken);

    public abstract Task EnqueueAsync(BenchDatabase db, int count, CancellationToken cancellationToken);

    /// <summary>Starts worker process number <paramref name="index"/>; it writes start latencies to <paramref name="latencyFile"/> if it records them itself.</summary>
    public abstract ChildProcess StartWorker(BenchDatabase db, int index, string latencyFile);

    /// <summary>
    /// The statement that keeps its workers from taking jobs (see <see cref="Scenarios.DrainScenario"/>), run
    /// in a transaction held open until every worker is up: the peers lock the table they claim from
    /// EXCLUSIVE; ours resumes its paused queue (<see cref="Ours.HoldJobsAsync"/>).
    /// </summary>
    public abstract string HoldJobsSql { get; }

    /// <summary>The parameters of <see cref="HoldJobsSql"/>, if it has any.</summary>
    protected virtual object[] HoldJobsParameters => [];

    /// <summary>
    /// Keeps this contender's workers from taking jobs until the returned transaction commits (see
    /// <see cref="Scenarios.DrainScenario"/>): <see cref="HoldJobsSql"/> in a transaction on <paramref name="connection"/>.
    /// </summary>
    public virtual async Task<NpgsqlTransaction> HoldJobsAsync(BenchDatabase db, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var hold = new NpgsqlCommand(HoldJobsSql, connection, transaction);
        foreach (var parameter in HoldJobsParameters)
        {
            hold.Parameters.Add(new() { Value = parameter });
        }

        await hold.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return transaction;
    }

    /// <summary>Completes when every one of <paramref name="workers"/> is up (started, connected, its handlers known).</summary>
    public abstract Task WaitUntilReadyAsync(BenchDatabase db, IReadOnlyList<ChildProcess> workers, CancellationToken cancellationToken);

    /// <summary>Runs this contender's producer process at <paramref name="rate"/> jobs/s for <paramref name="seconds"/>.</summary>
    public abstract Task<ProducerSummary> ProduceAsync(BenchDatabase db, int rate, double seconds, CancellationToken cancellationToken);

    /// <summary>
    /// A worker's starts from its file of "created started" lines (Unix ms), read after it stopped:
    /// every contender's handler notes them at its first line, so all are timed alike. No file, no starts.
    /// </summary>
    public static async Task<List<(double Created, double Started)>> ReadStartsAsync(string latencyFile, CancellationToken cancellationToken)
    {
        var starts = new List<(double Created, double Started)>();
        if (!File.Exists(latencyFile))
        {
            return starts;
        }

        foreach (var line in await File.ReadAllLinesAsync(latencyFile, cancellationToken).ConfigureAwait(false))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2
                && double.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var created)
                && double.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var started))
            {
                starts.Add((created, started));
            }
        }

        return starts;
    }

    /// <summary>Marks where a drain's jobs start, for <see cref="DiagnoseDrainAsync"/>.</summary>
    public virtual Task<long> DrainMarkAsync(BenchDatabase db, CancellationToken cancellationToken) => Task.FromResult(0L);

    /// <summary>Figures only this contender's tables can give about the drain that started at <paramref name="mark"/>.</summary>
    public virtual Task<Dictionary<string, double>> DiagnoseDrainAsync(BenchDatabase db, long mark, CancellationToken cancellationToken) =>
        Task.FromResult(new Dictionary<string, double>());

    protected string LogFile(string what) => Path.Combine(Env.WorkDir, $"{Name}-{what}-{DateTime.UtcNow:HHmmss.fff}.log");

    protected static ProducerSummary ParseSummary(IReadOnlyList<string> lines) =>
        System.Text.Json.JsonSerializer.Deserialize<ProducerSummary>(
            lines.Last(l => l.StartsWith("{\"sent\"", StringComparison.Ordinal)),
            System.Text.Json.JsonSerializerOptions.Web)!;
}
