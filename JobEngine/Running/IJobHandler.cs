namespace JobEngine.Running;

/// <summary>Runs jobs of one kind. Registered with <see cref="JobEngineServiceCollectionExtensions.AddJobHandler{THandler, TArgs}"/>.</summary>
/// <typeparam name="TArgs">The job's arguments, deserialized from its JSON with web defaults.</typeparam>
public interface IJobHandler<in TArgs>
{
    /// <summary>
    /// Runs one attempt. Returning completes the job; throwing fails the attempt (retried with
    /// backoff until the last one). The token is cancelled on timeout, on a cancel request and
    /// when the worker shuts down: stop promptly when it fires.
    /// </summary>
    Task HandleAsync(JobContext job, TArgs args, CancellationToken cancellationToken);
}

/// <summary>What a handler knows about the job it runs.</summary>
/// <param name="Id">The job's id: a natural key for making effects idempotent.</param>
/// <param name="Kind">The job's kind.</param>
/// <param name="Queue">The queue it came from.</param>
/// <param name="Attempt">This attempt's number, from 1.</param>
/// <param name="MaxAttempts">Attempts allowed.</param>
/// <param name="QueueLatency">How long the job waited from ready (enqueued, or due) until this attempt's handler was called: the database's count until the claim began, then the worker's clock through the claim's commit and the hand-over. No clock of two hosts is compared, at a price: the claim's trip to the database is counted twice (tens of microseconds; on a loaded machine, at times a few milliseconds).</param>
/// <param name="ReadyAt">When the job became ready (its creation, or the time it was due), by the database's clock: the instant <paramref name="QueueLatency"/> counts from. Subtracted from this host's clock it gives the wait exactly when both clocks agree (one host).</param>
public sealed record JobContext(long Id, string Kind, string Queue, int Attempt, int MaxAttempts, TimeSpan QueueLatency, DateTimeOffset ReadyAt);

/// <summary>Thrown for arguments no retry can fix; the job is discarded at once.</summary>
public sealed class JobArgsException(string message, Exception? inner = null) : Exception(message, inner);
