using System.Diagnostics;
using JobEngine.Sql;
using JobEngine.Telemetry;
using Npgsql;
using NpgsqlTypes;

namespace JobEngine;

/// <summary>
/// Enqueues jobs and acts on them (get, cancel, retry). Used by the Api, by Workers and by any
/// .NET producer; every call is one or two statements on the given data source or transaction.
/// </summary>
public sealed partial class JobClient(NpgsqlDataSource dataSource)
{
    /// <summary>Enqueues one job in its own transaction.</summary>
    public async Task<EnqueueResult> EnqueueAsync(NewJob job, CancellationToken cancellationToken = default) =>
        (await EnqueueManyAsync([job], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>Enqueues one job inside the caller's transaction: it exists if and only if that commits.</summary>
    public async Task<EnqueueResult> EnqueueAsync(NewJob job, NpgsqlTransaction transaction, CancellationToken cancellationToken = default) =>
        (await EnqueueManyAsync([job], transaction, cancellationToken).ConfigureAwait(false))[0];

    /// <summary>Enqueues many jobs in one transaction: all or none, in one round trip when no job carries an idempotency key.</summary>
    /// <returns>One result per job, in the order given.</returns>
    /// <exception cref="ArgumentException">A job is invalid; the message names the job and field.</exception>
    public async Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync(IReadOnlyList<NewJob> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Any(j => j.IdempotencyKey is not null))
        {
            // A key held by a live job is looked up after the insert, in the insert's transaction.
            return await InTransactionAsync(transaction => EnqueueManyAsync(jobs, transaction, cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        ThrowIfInvalid(jobs);
        // Without keys the insert is the whole enqueue, and a statement sent alone commits in its own
        // round trip. A COMMIT of its own added a round trip to every job's wait: the wait is counted
        // from the insert's now(), and no Worker sees the job before the commit.
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var inserted = await InsertJobsAsync(jobs, connection, transaction: null, cancellationToken).ConfigureAwait(false);
        return [.. inserted.Select(job => new EnqueueResult(job, Existing: false))];
    }

    /// <summary>Enqueues many jobs inside the caller's transaction, in one round trip.</summary>
    /// <returns>One result per job, in the order given.</returns>
    /// <exception cref="ArgumentException">A job is invalid; the message names the job and field.</exception>
    public async Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync(IReadOnlyList<NewJob> jobs, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfInvalid(jobs);

        var inserted = await InsertJobsAsync(jobs, ConnectionOf(transaction), transaction, cancellationToken).ConfigureAwait(false);
        return await MatchToRequestsAsync(jobs, inserted, transaction, cancellationToken).ConfigureAwait(false);
    }

    // InsertJobs: the jobs inserted, in the order given (a job whose key a live job holds is skipped).
    private static async Task<List<JobRecord>> InsertJobsAsync(
        IReadOnlyList<NewJob> jobs, NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var traceParent = CurrentTraceParent();
        var inserted = new List<JobRecord>(jobs.Count);
        var command = new NpgsqlCommand(JobSql.InsertJobs, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        AddJobArrays(command, jobs);
        command.Parameters.Add(new() { Value = jobs.Select(j => j.IdempotencyKey).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = jobs.Select(_ => traceParent).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = jobs.Select(j => j.CreatedBy).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            inserted.Add(JobRecord.Read(reader));
        }

        return inserted;
    }

    /// <summary>Enqueues a workflow in its own transaction: every step or none.</summary>
    /// <exception cref="ArgumentException">The workflow is invalid (<see cref="NewWorkflow.Validate"/>); the message names the step and field.</exception>
    public Task<WorkflowEnqueued> EnqueueWorkflowAsync(NewWorkflow workflow, CancellationToken cancellationToken = default) =>
        InTransactionAsync(transaction => EnqueueWorkflowAsync(workflow, transaction, cancellationToken), cancellationToken);

    /// <summary>
    /// Enqueues a workflow inside the caller's transaction, in one statement and one round trip
    /// whatever its size (one more when a step depends on existing jobs by id, which locks them):
    /// steps without dependencies are available at once, the others wait
    /// (<see cref="JobState.Pending"/>) until each of their dependencies completed. A step whose
    /// dependency by id already failed is cancelled at once (with its dependents), unless it runs anyway.
    /// </summary>
    /// <exception cref="ArgumentException">The workflow is invalid (<see cref="NewWorkflow.Validate"/>); the message names the step and field.</exception>
    /// <exception cref="UnknownDependencyException">A step depends on a job id no job has (or, with <see cref="NewWorkflow.DependsOnOwnJobsOnly"/>, one enqueued by someone else).</exception>
    public async Task<WorkflowEnqueued> EnqueueWorkflowAsync(NewWorkflow workflow, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        ArgumentNullException.ThrowIfNull(transaction);
        if (workflow.Validate() is { } error)
        {
            throw new ArgumentException($"The workflow is invalid: {error.Field}: expected {error.Expected}.{(error.Detail is null ? "" : " " + error.Detail)}", nameof(workflow));
        }

        var connection = ConnectionOf(transaction);
        var steps = workflow.Steps;
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            position[steps[i].Name] = i + 1;
        }

        var dependencies = new List<int>();
        var dependents = new List<int>();
        var hasDependents = new bool[steps.Count];
        var externalJobs = new List<long>();
        var externalDependents = new List<int>();
        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var name in steps[i].DependsOn)
            {
                dependencies.Add(position[name]);
                dependents.Add(i + 1);
                hasDependents[position[name] - 1] = true;
            }

            foreach (var jobId in steps[i].DependsOnJobIds)
            {
                externalJobs.Add(jobId);
                externalDependents.Add(i + 1);
            }
        }

        var plan = externalJobs.Count == 0
            ? StepPlan.WithoutJobDependencies(steps)
            : StepPlan.Of(workflow, position, await LockJobDependenciesAsync(workflow, externalJobs, transaction, cancellationToken).ConfigureAwait(false));

        using var activity = JobTelemetry.StartWorkflowEnqueue(workflow.Name, steps.Count);
        var traceParent = CurrentTraceParent();
        var command = new NpgsqlCommand(JobSql.InsertWorkflow, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = (object?)workflow.Name ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)workflow.CreatedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)traceParent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = steps.Select(s => s.Name).ToArray() });
        command.Parameters.Add(new() { Value = steps.Select(s => s.Job.Queue).ToArray() });
        command.Parameters.Add(new() { Value = steps.Select(s => s.Job.Kind).ToArray() });
        command.Parameters.Add(new() { Value = steps.Select(s => s.Job.ArgsJson).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = steps.Select(s => s.Job.Priority).ToArray() });
        command.Parameters.Add(new() { Value = steps.Select(s => s.Job.MaxAttempts).ToArray() });
        command.Parameters.Add(new() { Value = steps.Select(s => s.OnDependencyFailure == DependencyFailure.Run ? "run" : "cancel").ToArray() });
        command.Parameters.Add(new() { Value = plan.WaitingOn });
        command.Parameters.Add(new() { Value = hasDependents });
        command.Parameters.Add(new() { Value = dependencies.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new() { Value = dependents.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new() { Value = plan.FailedJob, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new() { Value = plan.FailedStep, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new() { Value = externalJobs.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new() { Value = externalDependents.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new() { Value = plan.FailedState, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        long workflowId = 0;
        var enqueued = new WorkflowStepEnqueued[steps.Count];
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            workflowId = reader.GetFieldValue<long>(reader.GetOrdinal("workflow_id"));
            var ordinal = reader.GetFieldValue<int>(reader.GetOrdinal("ordinal"));
            enqueued[ordinal - 1] = new WorkflowStepEnqueued(
                steps[ordinal - 1].Name,
                reader.GetFieldValue<long>(reader.GetOrdinal("job_id")),
                reader.GetFieldValue<string>(reader.GetOrdinal("state")));
        }

        activity?.SetTag("job.workflow.id", workflowId);
        JobTelemetry.WorkflowsEnqueued.Add(1);
        JobTelemetry.WorkflowStepsEnqueued.Add(steps.Count);
        return new WorkflowEnqueued(workflowId, enqueued);
    }

    // Locks the jobs the workflow's steps depend on by id (see LockLiveDependencies) and reads their
    // states; an unknown id (or another creator's job) fails the enqueue naming the first step's field.
    private static async Task<Dictionary<long, string>> LockJobDependenciesAsync(
        NewWorkflow workflow, List<long> jobIds, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var ids = jobIds.Distinct().Order().ToArray();
        var batch = new NpgsqlBatch(transaction.Connection, transaction);
        await using var batchScope = batch.ConfigureAwait(false);
        foreach (var sql in new[] { JobSql.LockLiveDependencies, JobSql.LockWaitingDependencies, JobSql.ClassifyDependencies })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new() { Value = ids });
            batch.BatchCommands.Add(command);
        }

        var states = new Dictionary<long, string>();
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            // The locks' rows are not needed: only the states.
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var state = reader.GetOrdinal("state");
                var createdBy = reader.GetOrdinal("created_by");
                var visible = !reader.IsDBNull(state)
                    && (!workflow.DependsOnOwnJobsOnly || (!reader.IsDBNull(createdBy) && reader.GetString(createdBy) == workflow.CreatedBy));
                if (visible)
                {
                    states[reader.GetInt64(reader.GetOrdinal("id"))] = reader.GetString(state);
                }
            }
        }

        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var unknown = workflow.Steps[i].DependsOnJobIds.Select((id, k) => (id, k)).FirstOrDefault(d => !states.ContainsKey(d.id));
            if (unknown != default)
            {
                throw new UnknownDependencyException($"steps[{i}].dependsOnJobIds[{unknown.k}]", unknown.id);
            }
        }

        return states;
    }

    /// <summary>The workflow with this id and every step's current state, or null.</summary>
    public async Task<WorkflowRecord?> GetWorkflowAsync(long id, CancellationToken cancellationToken = default)
    {
        // One transaction, so the header and the steps come from the same moment of the workflow.
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        string? name, createdBy;
        DateTimeOffset createdAt;
        var header = new NpgsqlCommand(JobSql.SelectWorkflow, connection, transaction);
        await using (header.ConfigureAwait(false))
        {
            header.Parameters.Add(new() { Value = id });
            var reader = await header.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            name = reader.IsDBNull(reader.GetOrdinal("name")) ? null : reader.GetFieldValue<string>(reader.GetOrdinal("name"));
            createdBy = reader.IsDBNull(reader.GetOrdinal("created_by")) ? null : reader.GetFieldValue<string>(reader.GetOrdinal("created_by"));
            createdAt = reader.GetFieldValue<DateTimeOffset>(reader.GetOrdinal("created_at"));
        }

        var steps = new List<WorkflowStepRecord>();
        var select = new NpgsqlCommand(JobSql.SelectWorkflowSteps, connection, transaction);
        await using (select.ConfigureAwait(false))
        {
            select.Parameters.Add(new() { Value = id });
            var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var state = reader.GetOrdinal("state");
                var lastError = reader.GetOrdinal("last_error");
                var finalizedAt = reader.GetOrdinal("finalized_at");
                steps.Add(new WorkflowStepRecord(
                    reader.GetFieldValue<string>(reader.GetOrdinal("step")),
                    reader.GetFieldValue<long>(reader.GetOrdinal("job_id")),
                    reader.IsDBNull(state) ? null : reader.GetFieldValue<string>(state),
                    reader.GetFieldValue<short>(reader.GetOrdinal("attempt")),
                    reader.GetFieldValue<string[]>(reader.GetOrdinal("depends_on")),
                    reader.GetFieldValue<long[]>(reader.GetOrdinal("depends_on_job_ids")),
                    reader.GetFieldValue<string>(reader.GetOrdinal("on_dependency_failure")) == "run" ? DependencyFailure.Run : DependencyFailure.Cancel,
                    reader.IsDBNull(lastError) ? null : reader.GetFieldValue<string>(lastError),
                    reader.IsDBNull(finalizedAt) ? null : reader.GetFieldValue<DateTimeOffset>(finalizedAt)));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new WorkflowRecord(id, name, createdAt, createdBy, steps);
    }

    /// <summary>
    /// Cancels every step of a workflow that has not started, in one transaction: waiting steps and
    /// available, scheduled or retryable ones end <c>cancelled</c>, with an error naming the
    /// workflow; running steps finish as they are (their dependents, cancelled here, do not run).
    /// Idempotent: a second call cancels nothing more. A step finishing at the same moment is
    /// either released before the cancel (and cancelled by it) or finds its dependents cancelled.
    /// </summary>
    /// <param name="id">The workflow's id.</param>
    /// <param name="createdBy">When given, a workflow enqueued by someone else is treated as unknown.</param>
    /// <param name="cancellationToken">Cancels the call (the transaction rolls back).</param>
    /// <returns>What was cancelled and what was left running, or null when no such workflow is visible.</returns>
    public async Task<WorkflowCancelResult?> CancelWorkflowAsync(long id, string? createdBy = null, CancellationToken cancellationToken = default)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        var lockWorkflow = new NpgsqlCommand(JobSql.LockWorkflow, connection, transaction);
        await using (lockWorkflow.ConfigureAwait(false))
        {
            lockWorkflow.Parameters.Add(new() { Value = id });
            var reader = await lockWorkflow.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var owner = reader.GetOrdinal("created_by");
            if (createdBy is not null && (reader.IsDBNull(owner) || reader.GetString(owner) != createdBy))
            {
                return null;
            }
        }

        var batch = new NpgsqlBatch(connection, transaction);
        await using var batchScope = batch.ConfigureAwait(false);
        foreach (var sql in new[] { JobSql.LockWorkflowLiveSteps, JobSql.LockWorkflowWaitingSteps, JobSql.CancelWorkflowSteps, JobSql.ResolveOutsideDependents })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new() { Value = id });
            batch.BatchCommands.Add(command);
        }

        WorkflowCancelResult result;
        var cancel = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (cancel.ConfigureAwait(false))
        {
            // The two locks' rows are not needed: only the last statement's counts.
            await cancel.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await cancel.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await cancel.ReadAsync(cancellationToken).ConfigureAwait(false);
            result = new WorkflowCancelResult(id,
                (int)cancel.GetFieldValue<long>(cancel.GetOrdinal("cancelled")),
                (int)cancel.GetFieldValue<long>(cancel.GetOrdinal("left_running")));
            await cancel.NextResultAsync(cancellationToken).ConfigureAwait(false);
            if (await cancel.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                JobTelemetry.WorkflowStepsReleased.Add(cancel.GetFieldValue<int>(cancel.GetOrdinal("released")));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (result.Cancelled > 0)
        {
            JobTelemetry.WorkflowsCancelled.Add(1);
            JobTelemetry.WorkflowStepsCancelled.Add(result.Cancelled, new KeyValuePair<string, object?>("job.workflow.cancel_reason", JobTelemetry.WorkflowCancelledReason));
        }

        return result;
    }

    /// <summary>The job with this id, or null.</summary>
    public async Task<JobRecord?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        var command = dataSource.CreateCommand(JobSql.SelectJobById);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = id });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? JobRecord.Read(reader) : null;
    }

    /// <summary>
    /// Cancels a job that has not finished. One not yet running (or still waiting for its
    /// dependencies) is cancelled at once; a running one has its handler's token cancelled by its
    /// worker and ends <c>cancelled</c> unless it completes first. Its dependents are cancelled in
    /// turn, but those that run anyway (<see cref="DependencyFailure.Run"/>).
    /// </summary>
    public Task<JobActionResult> CancelAsync(long id, CancellationToken cancellationToken = default) =>
        ActAsync(JobSql.CancelJob, id, cancellationToken,
            reader => JobTelemetry.WorkflowStepsReleased.Add(reader.GetFieldValue<int>(reader.GetOrdinal("released"))));

    /// <summary>
    /// Runs a discarded, cancelled, retryable or scheduled job again now. A workflow step brought
    /// back this way keeps its dependents: those its failure cancelled wait for it again.
    /// </summary>
    public async Task<JobActionResult> RetryAsync(long id, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ActAsync(JobSql.RetryJob, id, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Another live job holds this job's idempotency key: running both would break the key's promise.
            return new JobActionResult(JobActionOutcome.Conflict, null, "a live job with the same idempotency key exists");
        }
    }

    // countReleased reads what the statement reports beyond the outcome (CancelJob: the dependents it released).
    private async Task<JobActionResult> ActAsync(string sql, long id, CancellationToken cancellationToken, Action<NpgsqlDataReader>? countReleased = null)
    {
        var command = dataSource.CreateCommand(sql);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = id });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var previous = reader.GetOrdinal("previous_state");
        if (reader.IsDBNull(previous))
        {
            return new JobActionResult(JobActionOutcome.NotFound, null, "no job has this id");
        }

        var previousState = reader.GetString(previous);
        countReleased?.Invoke(reader);
        return reader.GetFieldValue<long>(reader.GetOrdinal("changed")) > 0
            ? new JobActionResult(JobActionOutcome.Done, previousState, null)
            : new JobActionResult(JobActionOutcome.Conflict, previousState, $"not allowed while the job is {previousState}");
    }

    // Runs work in a transaction of its own, committed when it returns: the single-call overloads of
    // the methods that also take the caller's transaction.
    private async Task<T> InTransactionAsync<T>(Func<NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        var result = await work(transaction).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static NpgsqlConnection ConnectionOf(NpgsqlTransaction transaction) =>
        transaction.Connection ?? throw new ArgumentException("The transaction is already finished.", nameof(transaction));

    // The W3C trace parent of the current activity, stored with what is enqueued so its run joins the trace.
    // The columns every set-based insert of jobs takes, one array each, in this order: queue, kind,
    // args, priority, max attempts, run-at (InsertJobs and AddBatchJobs).
    private static void AddJobArrays(NpgsqlCommand command, IReadOnlyList<NewJob> jobs)
    {
        command.Parameters.Add(new() { Value = jobs.Select(j => j.Queue).ToArray() });
        command.Parameters.Add(new() { Value = jobs.Select(j => j.Kind).ToArray() });
        command.Parameters.Add(new() { Value = jobs.Select(j => j.ArgsJson).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = jobs.Select(j => j.Priority).ToArray() });
        command.Parameters.Add(new() { Value = jobs.Select(j => j.MaxAttempts).ToArray() });
        command.Parameters.Add(new() { Value = jobs.Select(j => j.RunAt?.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
    }

    private static string? CurrentTraceParent() =>
        Activity.Current?.IdFormat == ActivityIdFormat.W3C ? Activity.Current.Id : null;

    // The library's boundary check: any caller may enqueue, so a job is checked here whoever sent
    // it. The Api validates each request once before this (and answers a ProblemDetails), so for
    // its jobs this never throws; it exists for the callers that are not the Api.
    private static void ThrowIfInvalid(IReadOnlyList<NewJob> jobs)
    {
        for (var i = 0; i < jobs.Count; i++)
        {
            var errors = jobs[i].Validate();
            if (errors.Count > 0)
            {
                var detail = string.Join("; ", errors.Select(e => $"{e.Field}: expected {e.Expected}"));
                throw new ArgumentException($"Job {i} ('{jobs[i].Kind}') is invalid: {detail}.", nameof(jobs));
            }
        }
    }

    // Rows come back from INSERT ... RETURNING in insertion order, minus the jobs whose
    // idempotency key was already held; those are matched to the live job holding the key.
    private static async Task<IReadOnlyList<EnqueueResult>> MatchToRequestsAsync(
        IReadOnlyList<NewJob> jobs, List<JobRecord> inserted, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var insertedByKey = new Dictionary<string, JobRecord>(StringComparer.Ordinal);
        var insertedWithoutKey = new Queue<JobRecord>();
        foreach (var job in inserted)
        {
            if (job.IdempotencyKey is { } key)
            {
                insertedByKey[key] = job;
            }
            else
            {
                insertedWithoutKey.Enqueue(job);
            }
        }

        var missingKeys = jobs.Select(j => j.IdempotencyKey).OfType<string>().Where(k => !insertedByKey.ContainsKey(k)).Distinct().ToArray();
        var existingByKey = missingKeys.Length == 0
            ? new Dictionary<string, JobRecord>()
            : await SelectLiveByKeysAsync(missingKeys, transaction, cancellationToken).ConfigureAwait(false);

        var results = new EnqueueResult[jobs.Count];
        var claimedKeys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < jobs.Count; i++)
        {
            if (jobs[i].IdempotencyKey is not { } key)
            {
                results[i] = new EnqueueResult(insertedWithoutKey.Dequeue(), Existing: false);
            }
            else if (insertedByKey.TryGetValue(key, out var created))
            {
                // The first request with a key created the job; a repeat of the key in the same batch gets it back.
                results[i] = new EnqueueResult(created, Existing: !claimedKeys.Add(key));
            }
            else
            {
                results[i] = existingByKey.TryGetValue(key, out var existing)
                    ? new EnqueueResult(existing, Existing: true)
                    : throw new InvalidOperationException($"Idempotency key '{key}' conflicted, but its job finished before it could be read; enqueue again.");
            }
        }

        return results;
    }

    private static async Task<Dictionary<string, JobRecord>> SelectLiveByKeysAsync(string[] keys, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(JobSql.SelectLiveJobsByIdempotencyKey, transaction.Connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new() { Value = keys });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var found = new Dictionary<string, JobRecord>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var job = JobRecord.Read(reader);
            found[job.IdempotencyKey!] = job;
        }

        return found;
    }
}

/// <summary>The job a request enqueued, or the live job that already held its idempotency key.</summary>
/// <param name="Job">The stored job.</param>
/// <param name="Existing">True when no new job was created.</param>
public sealed record EnqueueResult(JobRecord Job, bool Existing);

/// <summary>What happened to a cancel or retry request.</summary>
public enum JobActionOutcome
{
    /// <summary>The job changed as asked.</summary>
    Done,
    /// <summary>No job has this id.</summary>
    NotFound,
    /// <summary>The job's state does not allow it.</summary>
    Conflict,
}

/// <summary>The outcome of a cancel or retry, with the job's state before it and why it was refused.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="PreviousState">The job's state before the request, when it exists.</param>
/// <param name="Reason">Why it was refused, when it was.</param>
public sealed record JobActionResult(JobActionOutcome Outcome, string? PreviousState, string? Reason);
