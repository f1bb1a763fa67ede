using JobEngine.Running;
using JobEngine.Sql;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Worker.Handlers;

// Diagnostic kinds, on when Jobs:DiagnosticKinds is true (./run.sh and the tests): they let a
// person or a benchmark exercise the engine without writing a handler.

/// <summary>Arguments of a job that takes none.</summary>
public sealed record NoArgs;

/// <summary>Does nothing but note its start where a <see cref="JobStartLog"/> is registered (the Worker's): measures the engine itself.</summary>
public sealed class NoopHandler(JobStartLog? starts = null) : IJobHandler<NoArgs>
{
    /// <inheritdoc />
    public Task HandleAsync(JobContext job, NoArgs args, CancellationToken cancellationToken)
    {
        starts?.Note(job);
        return Task.CompletedTask;
    }
}

/// <summary>Arguments of <c>sleep</c>.</summary>
/// <param name="Ms">Milliseconds to sleep.</param>
public sealed record SleepArgs(int Ms);

/// <summary>Sleeps for <c>ms</c> milliseconds, honouring cancellation: a stand-in for slow work.</summary>
public sealed class SleepHandler(TimeProvider time) : IJobHandler<SleepArgs>
{
    /// <inheritdoc />
    public Task HandleAsync(JobContext job, SleepArgs args, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, args.Ms)), time, cancellationToken);
}

/// <summary>Arguments of <c>fail</c>.</summary>
/// <param name="UntilAttempt">The attempt that succeeds; every attempt before it throws.</param>
public sealed record FailArgs(int UntilAttempt);

/// <summary>Throws on every attempt before <c>untilAttempt</c> and succeeds on it: exercises retries and discards.</summary>
public sealed class FailHandler : IJobHandler<FailArgs>
{
    /// <inheritdoc />
    public Task HandleAsync(JobContext job, FailArgs args, CancellationToken cancellationToken) =>
        job.Attempt < args.UntilAttempt
            ? throw new InvalidOperationException($"fail: attempt {job.Attempt} of a job that succeeds on attempt {args.UntilAttempt}")
            : Task.CompletedTask;
}

/// <summary>Arguments of <c>record</c>.</summary>
/// <param name="Ms">Milliseconds of work after the effect is written: the window in which a kill leaves the job in flight.</param>
public sealed record RecordArgs(int Ms);

/// <summary>
/// Writes one row per execution (job, attempt, worker, process) and the job's effect keyed on its
/// id, then works for <c>ms</c>: what a chaos run counts to find lost jobs, duplicate executions and
/// duplicate effects. Needs the <c>diagnostics</c> tables the harness creates (see diagnostics.sql).
/// </summary>
public sealed class RecordHandler(NpgsqlDataSource dataSource, IOptions<JobWorkerOptions> options, TimeProvider time) : IJobHandler<RecordArgs>
{
    private static readonly string RecordExecution = SqlFile.Load(typeof(RecordHandler).Assembly, "diagnostics.sql").Get(nameof(RecordExecution));

    /// <inheritdoc />
    public async Task HandleAsync(JobContext job, RecordArgs args, CancellationToken cancellationToken)
    {
        await using (var command = dataSource.CreateCommand(RecordExecution))
        {
            command.Parameters.Add(new() { Value = job.Id });
            command.Parameters.Add(new() { Value = job.Attempt });
            command.Parameters.Add(new() { Value = options.Value.WorkerId });
            command.Parameters.Add(new() { Value = Environment.ProcessId });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, args.Ms)), time, cancellationToken);
    }
}
