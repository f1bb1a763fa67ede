using System.Diagnostics;
using System.Threading.Channels;
using JobEngine.Sql;
using JobEngine.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobEngine.Running;

/// <summary>
/// Why it exists: one queue in one process needs a loop that claims as many jobs as it has free
/// slots (one query, <c>FOR UPDATE SKIP LOCKED</c>) and runs them, then sleeps until something can
/// have changed: a notification, a freed slot, the next scheduled job's due time, or the poll.
/// </summary>
internal sealed class JobProducer(
    string queue,
    int concurrency,
    bool limited,
    NpgsqlDataSource dataSource,
    JobWorkerOptions options,
    JobHandlerRegistry handlers,
    RunningJobs runningJobs,
    JobCompleter completer,
    IServiceScopeFactory scopes,
    ILogger logger)
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<bool> _slotFreed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly TaskCompletionSource _runsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;

    // Runs started and not yet ended (a run ends once its outcome is handed to the completer), and
    // whether a shutdown waits for them to reach zero: a count, not a set of tasks, because tracking
    // each run's task cost every job a lock, a set entry and a continuation.
    private int _runsInFlight;
    private int _waitingForRuns;

    // FreeSlot as a delegate, made once rather than at every run's end.
    private Action? _freeSlot;

    // Runs whose handler has ended and whose outcome waits for the completer's next write, which
    // frees their slots: a claim made now would take only the slots freed so far.
    private int _awaitingWrite;

    public string Queue => queue;

    // A capped queue frees slots in other workers without telling anyone: look again soon.
    private static readonly TimeSpan LimitedPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Called by the notifier and on any hint that jobs may be waiting.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Claims and starts jobs until <paramref name="stopClaiming"/> fires; runs stay in flight.</summary>
    public async Task RunAsync(CancellationToken stopClaiming)
    {
        while (!stopClaiming.IsCancellationRequested)
        {
            try
            {
                var free = concurrency - Volatile.Read(ref _running);
                if (WaitsBeforeClaiming(free, Math.Min(concurrency, options.ClaimBatchSize), Volatile.Read(ref _awaitingWrite)))
                {
                    await _slotFreed.Reader.ReadAsync(stopClaiming).ConfigureAwait(false);
                    continue;
                }

                var wanted = Math.Min(free, options.ClaimBatchSize);
                var (claimed, untilDueMs) = await ClaimAsync(wanted, stopClaiming).ConfigureAwait(false);
                if (claimed < wanted)
                {
                    await WaitForWorkAsync(untilDueMs, stopClaiming).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopClaiming.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(e, "Claiming from queue {Queue} failed; trying again after {PollInterval}.", queue, options.PollInterval);
                await Task.Delay(options.PollInterval, stopClaiming).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// Whether the producer waits for slots instead of claiming now, with <paramref name="free"/>
    /// free slots, claims of at most <paramref name="fullClaim"/> jobs, and <paramref name="awaitingWrite"/>
    /// runs whose outcome waits for the completer's next write (which frees their slots).
    /// Each claim has a fixed cost (its round trip, the queue's lock, its plan, the pass over the running
    /// jobs at the head of job_claim_idx, its count upsert) that a claim of ten jobs pays as one of a
    /// thousand does. Under a backlog the completer frees slots in write-sized chunks, and claiming each
    /// chunk as it came back made 182 claims of 550 jobs on average in a one-process drain of 100,000
    /// with claims of 1,000 allowed (112 after this rule, 3-4 ms of claim time saved per claim). So
    /// while fewer than half a claim's slots are free and a pending outcome write is about to free
    /// more, the producer waits for that write. It never waits on a handler: with every other run
    /// still inside its handler (slow jobs), a freed slot is claimed at once.
    /// </summary>
    internal static bool WaitsBeforeClaiming(int free, int fullClaim, int awaitingWrite) =>
        free <= 0 || (free < fullClaim / 2 && awaitingWrite > 0);

    /// <summary>Completes when every started run has ended, or when <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForRunsAsync(CancellationToken cancellationToken)
    {
        // Called once claiming has stopped, so the count only falls from here. The exchange is a full
        // fence: either this read sees the last run's decrement, or that run sees the flag.
        Interlocked.Exchange(ref _waitingForRuns, 1);
        if (Volatile.Read(ref _runsInFlight) == 0)
        {
            _runsEnded.TrySetResult();
        }

        return _runsEnded.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Claims up to <paramref name="wanted"/> jobs and starts them; returns how many, and how long
    /// until the queue's next scheduled job is due (null: none), asked in the same round trip so a
    /// claim that comes up short needs no second one before the producer sleeps.
    /// </summary>
    private async Task<(int Claimed, double? UntilDueMs)> ClaimAsync(int wanted, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = ClaimRoundTrip(connection, queue, limited, wanted, options);
        await using var batchScope = batch.ConfigureAwait(false);
        var claimed = new List<ClaimedJob>(wanted);
        double? untilDueMs;
        // The claim's now() (attempted_at, from which latency_ms is counted) is taken when the batch
        // arrives: from here on the wait is timed on this clock, so a start's latency includes the
        // claim itself, its commit and the hand-over to the handler, as a user waits for them.
        var sent = Stopwatch.GetTimestamp();
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            // Past every result set before the claim's: ClaimJobs is the round trip's second-last statement.
            for (var i = 0; i < batch.BatchCommands.Count - 2; i++)
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }

            // By name (ClaimJobs' RETURNING), each ordinal looked up once per claim, not per row.
            var (id, queueColumn, kind, args, attempt, maxAttempts, traceParent, latency, readyAt) = (
                reader.GetOrdinal("id"), reader.GetOrdinal("queue"), reader.GetOrdinal("kind"), reader.GetOrdinal("args"),
                reader.GetOrdinal("attempt"), reader.GetOrdinal("max_attempts"), reader.GetOrdinal("trace_parent"), reader.GetOrdinal("latency_ms"),
                reader.GetOrdinal("ready_at"));
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                claimed.Add(new ClaimedJob(
                    reader.GetInt64(id), reader.GetString(queueColumn), reader.GetString(kind), reader.GetString(args),
                    reader.GetInt16(attempt), reader.GetInt16(maxAttempts), reader.IsDBNull(traceParent) ? null : reader.GetString(traceParent),
                    reader.IsDBNull(latency) ? 0 : reader.GetDouble(latency),
                    reader.GetFieldValue<DateTimeOffset>(readyAt),
                    sent));
            }

            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            untilDueMs = reader.IsDBNull(0) ? null : Convert.ToDouble(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
        }

        // Only now has the claim committed. A run started while rows were still streaming could
        // finish first, and its outcome write would not see the claim: it would match no row, and
        // the job would sit in 'running' until its lease expired and it ran a second time.
        claimed.ForEach(Start);
        return (claimed.Count, untilDueMs);
    }

    /// <summary>
    /// A claim's round trip on <paramref name="connection"/>, statements in one implicit transaction:
    /// the claim's settings (its plans, its commit), a capped (<paramref name="limited"/>) queue's claim
    /// lock, the claim of up to <paramref name="wanted"/> jobs with a fresh snapshot, then the next due
    /// time (its own snapshot, which sees the claim). <see cref="WorkerWarmup"/> sends it with nothing wanted.
    /// </summary>
    internal static NpgsqlBatch ClaimRoundTrip(NpgsqlConnection connection, string queue, bool limited, int wanted, JobWorkerOptions options)
    {
        var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(JobSql.ConfigureClaimTransaction));
        if (limited)
        {
            var lockQueue = new NpgsqlBatchCommand(JobSql.LockQueueClaim);
            lockQueue.Parameters.Add(new() { Value = queue });
            batch.BatchCommands.Add(lockQueue);
        }

        var claim = new NpgsqlBatchCommand(JobSql.ClaimJobs);
        claim.Parameters.Add(new() { Value = queue });
        claim.Parameters.Add(new() { Value = wanted });
        claim.Parameters.Add(new() { Value = options.WorkerId });
        claim.Parameters.Add(new() { Value = options.LeaseDuration.TotalMilliseconds });
        batch.BatchCommands.Add(claim);

        var untilDue = new NpgsqlBatchCommand(JobSql.MillisecondsUntilNextScheduledJob);
        untilDue.Parameters.Add(new() { Value = new[] { queue } });
        batch.BatchCommands.Add(untilDue);
        return batch;
    }

    private void Start(ClaimedJob claimed)
    {
        var job = new RunningJob(claimed.Id, claimed.Attempt, claimed.Queue, claimed.Kind);
        runningJobs.Add(job);
        Interlocked.Increment(ref _running);
        Interlocked.Increment(ref _runsInFlight);
        _ = Task.Run(() => RunOneAsync(claimed, job));
    }

    private async Task RunOneAsync(ClaimedJob claimed, RunningJob job)
    {
        var tags = JobTelemetry.Tags(claimed.Queue, claimed.Kind);
        var queueLatency = TimeSpan.FromMilliseconds(claimed.LatencyMs) + Stopwatch.GetElapsedTime(claimed.ClaimSent);
        JobTelemetry.QueueLatency.Record(queueLatency.TotalSeconds, tags);
        var found = handlers.Find(claimed.Kind);
        using var activity = JobTelemetry.StartRun(found?.SpanName ?? JobTelemetry.RunSpanName(claimed.Kind), claimed.Kind, claimed.Queue, claimed.Id, claimed.Attempt, claimed.TraceParent);
        var started = Stopwatch.GetTimestamp();
        JobOutcome outcome;
        try
        {
            var registration = found
                ?? throw new InvalidOperationException($"No handler for kind '{claimed.Kind}' is registered in worker {options.WorkerId}.");
            job.StopAfter(registration.Timeout ?? options.DefaultJobTimeout);
            var context = new JobContext(claimed.Id, claimed.Kind, claimed.Queue, claimed.Attempt, claimed.MaxAttempts, queueLatency, claimed.ReadyAt);
            var scope = scopes.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                await registration.Invoke(scope.ServiceProvider, context, claimed.ArgsJson, job.Token).ConfigureAwait(false);
            }

            outcome = JobOutcome.Completed(claimed.Id, claimed.Attempt);
            JobTelemetry.Completed.Add(1, tags);
        }
        catch (Exception e) when (job.Reason != StopReason.None && e is OperationCanceledException)
        {
            outcome = job.Reason switch
            {
                StopReason.CancelRequested => JobOutcome.Cancelled(claimed.Id, claimed.Attempt, options.WorkerId),
                StopReason.Shutdown => JobOutcome.Released(claimed.Id, claimed.Attempt),
                _ => JobOutcome.Abandoned(claimed.Id, claimed.Attempt),
            };
            if (job.Reason == StopReason.CancelRequested)
            {
                JobTelemetry.Cancelled.Add(1, tags);
            }
        }
        catch (Exception e)
        {
            var error = e is OperationCanceledException
                ? new TimeoutException($"The '{claimed.Kind}' job ran past its timeout.", e)
                : e;
            var discard = e is JobArgsException || claimed.Attempt >= claimed.MaxAttempts;
            outcome = discard
                ? JobOutcome.Discarded(claimed.Id, claimed.Attempt, options.WorkerId, error)
                : JobOutcome.Retryable(claimed.Id, claimed.Attempt, options.WorkerId, error, options.Retry.DelayAfter(claimed.Attempt));
            JobTelemetry.Failed.Add(1, tags);
            (discard ? JobTelemetry.Discarded : JobTelemetry.Retried).Add(1, tags);
            activity?.SetStatus(ActivityStatusCode.Error, error.Message);
            activity?.SetTag("error.type", error.GetType().FullName);
            logger.LogWarning("Job {JobId} ({Kind}) attempt {Attempt}/{MaxAttempts} failed: {ErrorType}: {Message}",
                claimed.Id, claimed.Kind, claimed.Attempt, claimed.MaxAttempts, error.GetType().Name, error.Message);
        }

        tags.Add("job.outcome", outcome.Kind.TagValue());
        JobTelemetry.ExecutionDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        job.HandlerDone = true;
        Interlocked.Increment(ref _awaitingWrite);
        completer.Submit(outcome with { Written = _freeSlot ??= FreeSlot });
        job.Dispose();
        if (Interlocked.Decrement(ref _runsInFlight) == 0 && Volatile.Read(ref _waitingForRuns) == 1)
        {
            _runsEnded.TrySetResult();
        }
    }

    private void FreeSlot()
    {
        Interlocked.Decrement(ref _awaitingWrite);
        Interlocked.Decrement(ref _running);
        _slotFreed.Writer.TryWrite(true);
    }

    private async Task WaitForWorkAsync(double? untilDueMs, CancellationToken cancellationToken)
    {
        var sleep = limited && LimitedPollInterval < options.PollInterval ? LimitedPollInterval : options.PollInterval;
        if (untilDueMs is { } ms && ms < sleep.TotalMilliseconds)
        {
            sleep = TimeSpan.FromMilliseconds(Math.Max(ms, 0) + 1);
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(sleep);
        try
        {
            await _wake.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Slept until the poll or the next due time: claim again.
        }
    }

    /// <summary>A claimed job; <paramref name="LatencyMs"/> is its wait from <paramref name="ReadyAt"/> until the claim's now(), <paramref name="ClaimSent"/> the <see cref="Stopwatch"/> timestamp of the claim's send.</summary>
    private sealed record ClaimedJob(long Id, string Queue, string Kind, string ArgsJson, short Attempt, short MaxAttempts, string? TraceParent, double LatencyMs, DateTimeOffset ReadyAt, long ClaimSent);
}
