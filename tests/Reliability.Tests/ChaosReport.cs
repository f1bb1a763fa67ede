using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Reliability.Tests;

/// <summary>The figures of one chaos run, as the test asserts them and bench/results keeps them.</summary>
public sealed record ChaosReport
{
    public required ChaosSettings Settings { get; init; }
    public required int JobsEnqueued { get; init; }
    public required long JobRows { get; init; }
    public required long Completed { get; init; }
    public required long NotCompleted { get; init; }
    public required long LeftRunning { get; init; }
    public required double Seconds { get; init; }
    public required double JobsPerSecond { get; init; }
    public required int Kills { get; init; }
    public required long InFlightAtKills { get; init; }
    public required int WorkersStarted { get; init; }
    public required int UnexpectedWorkerExits { get; init; }
    public required int PostgresRestarts { get; init; }
    public required double PostgresRecoverySeconds { get; init; }
    public required int ListenerBackendsTerminated { get; init; }
    public required double ListenerRecoverySeconds { get; init; }
    public required int EnqueueRetries { get; init; }
    public required int WorkflowEnqueueRetries { get; init; }
    public required long Workflows { get; init; }
    public required long WorkflowSteps { get; init; }
    public required long StepsRunBeforeTheirDependencyCompleted { get; init; }
    public required int BatchEnqueueRetries { get; init; }
    public required long Batches { get; init; }
    public required long BatchesFired { get; init; }
    public required long BatchCallbacksWithWrongCounts { get; init; }
    public required long Executions { get; init; }
    public required long DuplicateExecutions { get; init; }
    public required long DuplicatesTracedToKilledWorkers { get; init; }
    public required IReadOnlyList<string> UntracedDuplicates { get; init; }
    public required long SameAttemptRunTwice { get; init; }
    public required long JobsRescuedAfterLeaseExpiry { get; init; }
    public required long FailedAttemptsOtherThanLeaseExpiry { get; init; }
    public required string FailedAttemptTypes { get; init; }
    public required long Effects { get; init; }
    public required long DuplicateEffects { get; init; }
    public required long CompletedJobsWithoutEffect { get; init; }
    public required IReadOnlyList<string> SecretsFoundInLogs { get; init; }
    public required string LogDirectory { get; init; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        md.AppendLine(c, $"# Chaos run: {JobsEnqueued:N0} jobs ({Settings.Workflows:N0} workflows of {ChaosSettings.StepsPerWorkflow} steps and {Settings.Batches:N0} batches of {ChaosSettings.JobsPerBatch} jobs and a callback among them), {Settings.Workers} workers, a SIGKILL every {Settings.KillEvery.TotalSeconds:0.#} s");
        md.AppendLine();
        md.AppendLine("| figure | value |");
        md.AppendLine("|---|---|");
        void Row(string name, object value) => md.AppendLine(c, $"| {name} | {value} |");
        Row("jobs enqueued / rows in jobs.job", $"{JobsEnqueued:N0} / {JobRows:N0}");
        Row("completed / not completed / left running", $"{Completed:N0} / {NotCompleted:N0} / {LeftRunning:N0}");
        Row("wall time (enqueue start to last completion)", $"{Seconds:0.0} s ({JobsPerSecond:0} jobs/s)");
        Row("workers killed with SIGKILL (jobs in flight at the kills)", $"{Kills} ({InFlightAtKills:N0})");
        Row("worker processes started / exited on their own", $"{WorkersStarted} / {UnexpectedWorkerExits}");
        Row("PostgreSQL restarts (pg_ctl restart -m fast), back to work after", $"{PostgresRestarts}, {PostgresRecoverySeconds:0.0} s");
        Row("LISTEN backends terminated, all listening again after", $"{ListenerBackendsTerminated}, {ListenerRecoverySeconds:0.0} s");
        Row("enqueue batches retried (same idempotency keys)", EnqueueRetries);
        Row("workflows enqueued / their steps (workflow enqueues retried)", $"{Workflows:N0} / {WorkflowSteps:N0} ({WorkflowEnqueueRetries})");
        Row("batches enqueued / fired (batch calls retried)", $"{Batches:N0} / {BatchesFired:N0} ({BatchEnqueueRetries})");
        Row("batch callbacks not completed or with wrong counts", BatchCallbacksWithWrongCounts);
        Row("workflow steps and batch callbacks run before a job they wait for completed", StepsRunBeforeTheirDependencyCompleted);
        Row("executions / duplicate executions", $"{Executions:N0} / {DuplicateExecutions:N0}");
        Row("duplicates traced to a killed worker's in-flight job", $"{DuplicatesTracedToKilledWorkers:N0} of {DuplicateExecutions:N0}");
        Row("same attempt run twice", SameAttemptRunTwice);
        Row("jobs rescued after their lease expired", JobsRescuedAfterLeaseExpiry.ToString("N0", c));
        Row("failed attempts other than lease expiry (by error type, one message each)", $"{FailedAttemptsOtherThanLeaseExpiry.ToString("N0", c)} {FailedAttemptTypes}");
        Row("idempotent effects / duplicate effects / completed jobs without effect", $"{Effects:N0} / {DuplicateEffects} / {CompletedJobsWithoutEffect}");
        Row("secrets found in the Migrator's and Workers' logs", SecretsFoundInLogs.Count);
        return md.ToString();
    }
}
