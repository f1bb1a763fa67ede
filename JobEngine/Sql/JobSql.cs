namespace JobEngine.Sql;

/// <summary>The named queries of <c>job.sql</c>; each property is the query of the same name.</summary>
internal static class JobSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(JobSql).Assembly, "job.sql");

    public static readonly string InsertJobs = Queries.Get(nameof(InsertJobs));
    public static readonly string SelectLiveJobsByIdempotencyKey = Queries.Get(nameof(SelectLiveJobsByIdempotencyKey));
    public static readonly string SelectJobById = Queries.Get(nameof(SelectJobById));
    public static readonly string ClaimJobs = Queries.Get(nameof(ClaimJobs));
    public static readonly string ConfigureClaimTransaction = Queries.Get(nameof(ConfigureClaimTransaction));
    public static readonly string LockQueueClaim = Queries.Get(nameof(LockQueueClaim));
    public static readonly string MillisecondsUntilNextScheduledJob = Queries.Get(nameof(MillisecondsUntilNextScheduledJob));
    public static readonly string GiveUpOnLocksSoon = Queries.Get(nameof(GiveUpOnLocksSoon));
    public static readonly string DisableNestedLoopsForThisTransaction = Queries.Get(nameof(DisableNestedLoopsForThisTransaction));
    public static readonly string ScheduleRetries = Queries.Get(nameof(ScheduleRetries));
    public static readonly string FinishJobs = Queries.Get(nameof(FinishJobs));
    public static readonly string ReleaseJobs = Queries.Get(nameof(ReleaseJobs));
    public static readonly string ExtendLeases = Queries.Get(nameof(ExtendLeases));
    public static readonly string RescueExpiredJobs = Queries.Get(nameof(RescueExpiredJobs));
    public static readonly string MaintainJobHistory = Queries.Get(nameof(MaintainJobHistory));
    public static readonly string PruneFinishedMinutes = Queries.Get(nameof(PruneFinishedMinutes));
    public static readonly string PruneWorkflows = Queries.Get(nameof(PruneWorkflows));
    public static readonly string PruneBatches = Queries.Get(nameof(PruneBatches));
    public static readonly string CancelJob = Queries.Get(nameof(CancelJob));
    public static readonly string RetryJob = Queries.Get(nameof(RetryJob));
    public static readonly string InsertWorkflow = Queries.Get(nameof(InsertWorkflow));
    public static readonly string SelectWorkflow = Queries.Get(nameof(SelectWorkflow));
    public static readonly string SelectWorkflowSteps = Queries.Get(nameof(SelectWorkflowSteps));
    public static readonly string LockLiveDependencies = Queries.Get(nameof(LockLiveDependencies));
    public static readonly string LockWaitingDependencies = Queries.Get(nameof(LockWaitingDependencies));
    public static readonly string ClassifyDependencies = Queries.Get(nameof(ClassifyDependencies));
    public static readonly string ResolveOutsideDependents = Queries.Get(nameof(ResolveOutsideDependents));
    public static readonly string LockWorkflow = Queries.Get(nameof(LockWorkflow));
    public static readonly string LockWorkflowLiveSteps = Queries.Get(nameof(LockWorkflowLiveSteps));
    public static readonly string LockWorkflowWaitingSteps = Queries.Get(nameof(LockWorkflowWaitingSteps));
    public static readonly string CancelWorkflowSteps = Queries.Get(nameof(CancelWorkflowSteps));
    public static readonly string InsertBatch = Queries.Get(nameof(InsertBatch));
    public static readonly string LockBatchCallback = Queries.Get(nameof(LockBatchCallback));
    public static readonly string AddBatchJobs = Queries.Get(nameof(AddBatchJobs));
    public static readonly string SealBatch = Queries.Get(nameof(SealBatch));
    public static readonly string ReleaseBatchCallback = Queries.Get(nameof(ReleaseBatchCallback));
    public static readonly string SelectCallbackFired = Queries.Get(nameof(SelectCallbackFired));
    public static readonly string SelectBatch = Queries.Get(nameof(SelectBatch));
    public static readonly string RegisterKinds = Queries.Get(nameof(RegisterKinds));
}
