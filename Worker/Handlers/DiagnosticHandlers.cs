using JobEngine.Running;

namespace Worker.Handlers;

// Diagnostic kinds, on when Jobs:DiagnosticKinds is true (./run.sh and the tests): they let a
// person or a benchmark exercise the engine without writing a handler.

/// <summary>Arguments of a job that takes none.</summary>
public sealed record NoArgs;

/// <summary>Does nothing: measures the engine itself.</summary>
public sealed class NoopHandler : IJobHandler<NoArgs>
{
    /// <inheritdoc />
    public Task HandleAsync(JobContext job, NoArgs args, CancellationToken cancellationToken) => Task.CompletedTask;
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
