namespace JobEngine;

/// <summary>Who moves a job from one state to another.</summary>
public enum JobActor
{
    /// <summary>Whoever enqueues: the Api, a .NET producer, the scheduler.</summary>
    Producer,
    /// <summary>The Worker that claimed the job (its producer, its completer, its shutdown).</summary>
    Worker,
    /// <summary>Any Worker's rescuer, for a job whose lease ran out.</summary>
    Rescuer,
    /// <summary>A person, through the Api's cancel and retry.</summary>
    Operator,
}

/// <summary>One allowed change of state.</summary>
/// <param name="From">The state before; null for a job that does not exist yet.</param>
/// <param name="To">The state after.</param>
/// <param name="By">Who makes it.</param>
/// <param name="Statement">The named query of <c>job.sql</c> that makes it.</param>
public sealed record JobTransition(string? From, string To, JobActor By, string Statement);

/// <summary>
/// The job's life in one place: every state change the engine makes, who makes it and with which
/// statement. Live states (<see cref="JobState.IsFinalized"/> false) are rows of <c>jobs.job</c>,
/// but <see cref="JobState.Pending"/>: a job waiting for its dependencies is a row of
/// <c>jobs.job_pending</c>, and the statement that finalizes its last dependency moves it into
/// <c>jobs.job</c> (available), or into the history (cancelled) when a dependency failed; those
/// moves are made by <c>jobs.resolve_dependents</c> (migration 15) inside the finalizing statement,
/// named here; a batch's callback (migration 17) may also enter <c>jobs.job</c> when its batch is
/// sealed with every member finalized (an empty batch at once). A transition into a finalized state moves the row into <c>jobs.job_history</c> in
/// the same statement, and the only way back is an operator's retry (which also puts the dependents
/// a failed job cancelled back to waiting). No other change exists: a test holds job.sql to this list.
/// </summary>
public static class JobLife
{
    /// <summary>Every allowed transition.</summary>
    public static IReadOnlyList<JobTransition> Transitions { get; } =
    [
        new(null, JobState.Available, JobActor.Producer, "InsertJobs"),
        new(null, JobState.Scheduled, JobActor.Producer, "InsertJobs"),
        new(null, JobState.Available, JobActor.Producer, "InsertWorkflow"),
        new(null, JobState.Pending, JobActor.Producer, "InsertWorkflow"),
        new(null, JobState.Cancelled, JobActor.Producer, "InsertWorkflow"),
        new(null, JobState.Pending, JobActor.Producer, "InsertBatch"),
        new(null, JobState.Available, JobActor.Producer, "AddBatchJobs"),
        new(null, JobState.Scheduled, JobActor.Producer, "AddBatchJobs"),
        new(JobState.Pending, JobState.Available, JobActor.Producer, "ReleaseBatchCallback"),
        new(JobState.Pending, JobState.Available, JobActor.Worker, "FinishJobs"),
        new(JobState.Pending, JobState.Cancelled, JobActor.Worker, "FinishJobs"),
        new(JobState.Pending, JobState.Available, JobActor.Rescuer, "RescueExpiredJobs"),
        new(JobState.Pending, JobState.Cancelled, JobActor.Rescuer, "RescueExpiredJobs"),
        new(JobState.Pending, JobState.Available, JobActor.Operator, "CancelJob"),
        new(JobState.Pending, JobState.Cancelled, JobActor.Operator, "CancelJob"),
        new(JobState.Cancelled, JobState.Pending, JobActor.Operator, "RetryJob"),
        new(JobState.Available, JobState.Running, JobActor.Worker, "ClaimJobs"),
        new(JobState.Scheduled, JobState.Running, JobActor.Worker, "ClaimJobs"),
        new(JobState.Retryable, JobState.Running, JobActor.Worker, "ClaimJobs"),
        new(JobState.Running, JobState.Completed, JobActor.Worker, "FinishJobs"),
        new(JobState.Running, JobState.Retryable, JobActor.Worker, "ScheduleRetries"),
        new(JobState.Running, JobState.Discarded, JobActor.Worker, "FinishJobs"),
        new(JobState.Running, JobState.Cancelled, JobActor.Worker, "FinishJobs"),
        new(JobState.Running, JobState.Available, JobActor.Worker, "ReleaseJobs"),
        new(JobState.Running, JobState.Retryable, JobActor.Rescuer, "RescueExpiredJobs"),
        new(JobState.Running, JobState.Discarded, JobActor.Rescuer, "RescueExpiredJobs"),
        new(JobState.Running, JobState.Cancelled, JobActor.Rescuer, "RescueExpiredJobs"),
        new(JobState.Available, JobState.Cancelled, JobActor.Operator, "CancelJob"),
        new(JobState.Scheduled, JobState.Cancelled, JobActor.Operator, "CancelJob"),
        new(JobState.Retryable, JobState.Cancelled, JobActor.Operator, "CancelJob"),
        new(JobState.Pending, JobState.Cancelled, JobActor.Operator, "CancelWorkflowSteps"),
        new(JobState.Available, JobState.Cancelled, JobActor.Operator, "CancelWorkflowSteps"),
        new(JobState.Scheduled, JobState.Cancelled, JobActor.Operator, "CancelWorkflowSteps"),
        new(JobState.Retryable, JobState.Cancelled, JobActor.Operator, "CancelWorkflowSteps"),
        new(JobState.Scheduled, JobState.Available, JobActor.Operator, "RetryJob"),
        new(JobState.Retryable, JobState.Available, JobActor.Operator, "RetryJob"),
        new(JobState.Discarded, JobState.Available, JobActor.Operator, "RetryJob"),
        new(JobState.Cancelled, JobState.Available, JobActor.Operator, "RetryJob"),
    ];

    /// <summary>True when <paramref name="by"/> may move a job from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static bool Allows(string? from, string to, JobActor by) =>
        Transitions.Any(t => t.From == from && t.To == to && t.By == by);
}
