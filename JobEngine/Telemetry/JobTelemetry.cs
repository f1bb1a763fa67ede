using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace JobEngine.Telemetry;

/// <summary>
/// The engine's traces and metrics, under the name <see cref="Name"/>. One span per job run
/// continues the trace of the request that enqueued the job; counters and histograms are
/// tagged with <c>job.queue</c> and <c>job.kind</c>.
/// </summary>
public static class JobTelemetry
{
    /// <summary>The ActivitySource and Meter name to subscribe to.</summary>
    public const string Name = "JobEngine";

    /// <summary>Spans of job runs.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Seconds a handler ran, tagged with the outcome.</summary>
    public static readonly Histogram<double> ExecutionDuration = Meter.CreateHistogram<double>(
        "job.execution.duration", "s", "Time a job handler ran, per attempt.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    /// <summary>Seconds from ready (enqueued or due) to started.</summary>
    public static readonly Histogram<double> QueueLatency = Meter.CreateHistogram<double>(
        "job.queue.latency", "s", "Time from a job being ready to its attempt starting.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60] });

    /// <summary>Attempts that succeeded.</summary>
    public static readonly Counter<long> Completed = Meter.CreateCounter<long>("job.completed", "{job}", "Jobs completed.");

    /// <summary>Attempts that threw or timed out (retried or discarded).</summary>
    public static readonly Counter<long> Failed = Meter.CreateCounter<long>("job.failed", "{attempt}", "Failed attempts.");

    /// <summary>Failed attempts that will run again.</summary>
    public static readonly Counter<long> Retried = Meter.CreateCounter<long>("job.retried", "{attempt}", "Failed attempts scheduled to retry.");

    /// <summary>Jobs that failed their last attempt.</summary>
    public static readonly Counter<long> Discarded = Meter.CreateCounter<long>("job.discarded", "{job}", "Jobs discarded after their last attempt.");

    /// <summary>Jobs cancelled while running.</summary>
    public static readonly Counter<long> Cancelled = Meter.CreateCounter<long>("job.cancelled", "{job}", "Running jobs cancelled.");

    /// <summary>Workflows enqueued, counted when their statement succeeded (a caller's transaction may still roll back).</summary>
    public static readonly Counter<long> WorkflowsEnqueued = Meter.CreateCounter<long>("job.workflow.enqueued", "{workflow}", "Workflows enqueued.");

    /// <summary>Steps of the workflows enqueued, available at once or waiting.</summary>
    public static readonly Counter<long> WorkflowStepsEnqueued = Meter.CreateCounter<long>("job.workflow.steps.enqueued", "{step}", "Workflow steps enqueued.");

    /// <summary>Waiting steps made available because their last dependency finished (by a Worker's finish, the rescuer or a cancel).</summary>
    public static readonly Counter<long> WorkflowStepsReleased = Meter.CreateCounter<long>(
        "job.workflow.steps.released", "{step}", "Waiting workflow steps made available: their last dependency finished.");

    /// <summary>Workflows cancelled by <see cref="JobClient.CancelWorkflowAsync"/> that had steps left to cancel.</summary>
    public static readonly Counter<long> WorkflowsCancelled = Meter.CreateCounter<long>("job.workflow.cancelled", "{workflow}", "Workflows cancelled.");

    /// <summary>Steps cancelled before they started, tagged with <c>job.workflow.cancel_reason</c>.</summary>
    public static readonly Counter<long> WorkflowStepsCancelled = Meter.CreateCounter<long>(
        "job.workflow.steps.cancelled", "{step}", "Workflow steps cancelled before they started.");

    /// <summary>The <c>job.workflow.cancel_reason</c> of steps cancelled by a cancel of their whole workflow.</summary>
    public const string WorkflowCancelledReason = "workflow_cancelled";

    /// <summary>Tags shared by every job instrument.</summary>
    public static TagList Tags(string queue, string kind) => new() { { "job.queue", queue }, { "job.kind", kind } };

    /// <summary>
    /// Starts the span of a workflow's enqueue, under the caller's (the HTTP request's) span: every
    /// step stores it as its trace parent, so each step's run is a child of it, in the request's trace.
    /// </summary>
    public static Activity? StartWorkflowEnqueue(string? name, int steps)
    {
        var activity = ActivitySource.StartActivity("workflow enqueue", ActivityKind.Producer);
        activity?.SetTag("job.workflow.name", name);
        activity?.SetTag("job.workflow.steps", steps);
        return activity;
    }

    /// <summary>The name of a run's span, <c>job {kind}</c>; a registered kind keeps its own (<see cref="Running.JobHandlerRegistration.SpanName"/>).</summary>
    public static string RunSpanName(string kind) => $"job {kind}";

    /// <summary>Starts the span <paramref name="spanName"/> (<see cref="RunSpanName"/>) of one run, as a child of the enqueuing request's trace when it had one.</summary>
    public static Activity? StartRun(string spanName, string kind, string queue, long id, int attempt, string? traceParent)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        var activity = ActivitySource.StartActivity(spanName, ActivityKind.Consumer, parent);
        activity?.SetTag("job.id", id);
        activity?.SetTag("job.kind", kind);
        activity?.SetTag("job.queue", queue);
        activity?.SetTag("job.attempt", attempt);
        return activity;
    }
}
