using System.Diagnostics.Metrics;
using JobEngine.Running;
using JobEngine.Sql;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobEngine.Telemetry;

/// <summary>
/// Why it exists: how much work is waiting is the first question about a queue, and no per-job
/// counter answers it. Every <see cref="Interval"/> the live counts are read from <c>jobs.job_count</c>
/// (kept by migration 8's triggers, so the read costs the same at any backlog), and the gauge <c>job.queue.depth</c>
/// (tags <c>job.queue</c>, <c>job.state</c>) reports the latest one, so collection never queries.
/// The queues the process serves report 0 per live state from the start, and a pair seen once
/// and now empty reports 0 rather than vanishing, so an idle queue is a flat line, not a gap.
/// </summary>
public sealed class QueueDepthGauge : BackgroundService
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(QueueDepthGauge).Assembly, "telemetry.sql");
    private static readonly string CountLiveJobsByQueueAndState = Queries.Get(nameof(CountLiveJobsByQueueAndState));
    private static readonly string[] LiveStates = [JobState.Available, JobState.Scheduled, JobState.Running, JobState.Retryable];

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueDepthGauge> _logger;
    private readonly Dictionary<(string Queue, string State), long> _depths = [];
    private readonly Lock _gate = new();

    /// <summary>Creates the gauge on the engine's meter, reporting <paramref name="servedQueues"/> from the start; sampling starts with the host.</summary>
    public QueueDepthGauge(NpgsqlDataSource dataSource, IMeterFactory meters, TimeProvider time, ILogger<QueueDepthGauge> logger, TimeSpan interval, IEnumerable<string> servedQueues)
    {
        ArgumentNullException.ThrowIfNull(servedQueues);
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _dataSource = dataSource;
        _time = time;
        _logger = logger;
        Interval = interval;
        foreach (var queue in servedQueues)
        {
            foreach (var state in LiveStates)
            {
                _depths[(queue, state)] = 0;
            }
        }

        meters.Create(JobTelemetry.Name).CreateObservableGauge(
            "job.queue.depth", Observe, "{job}", "Live jobs per queue and state (available, scheduled, running, retryable), sampled.");
    }

    /// <summary>Time between two samples.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Takes one sample now (also what the timer does).</summary>
    public async Task SampleAsync(CancellationToken cancellationToken)
    {
        var counts = new Dictionary<(string, string), long>();
        var command = _dataSource.CreateCommand(CountLiveJobsByQueueAndState);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                counts[(reader.GetString(reader.GetOrdinal("queue")), reader.GetString(reader.GetOrdinal("state")))] = reader.GetInt64(reader.GetOrdinal("jobs"));
            }
        }

        lock (_gate)
        {
            foreach (var key in _depths.Keys.ToList())
            {
                _depths[key] = 0;
            }

            foreach (var (key, count) in counts)
            {
                _depths[key] = count;
            }
        }
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(Interval, _time, SampleAsync, _logger,
            "Sampling the queue depth failed; the gauge keeps its last value until the next sample", stoppingToken, runAtStart: true);

    private IEnumerable<Measurement<long>> Observe()
    {
        lock (_gate)
        {
            return [.. _depths.Select(d => new Measurement<long>(d.Value, new KeyValuePair<string, object?>("job.queue", d.Key.Queue), new KeyValuePair<string, object?>("job.state", d.Key.State)))];
        }
    }

}
