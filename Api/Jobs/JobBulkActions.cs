using Api.Caching;
using Api.Sql;
using JobEngine;
using Npgsql;
using NpgsqlTypes;

namespace Api.Jobs;

/// <summary>Which jobs a bulk action takes; each null filter matches every job the action may change.</summary>
/// <param name="State">Only jobs in this state (one the action accepts).</param>
/// <param name="Queue">Only jobs of this queue.</param>
/// <param name="Kind">Only jobs of this kind.</param>
public sealed record BulkFilter(string? State, string? Queue, string? Kind);

/// <summary>What a bulk action did, or with <paramref name="DryRun"/> would do.</summary>
/// <param name="Count">Jobs changed (or that would change).</param>
/// <param name="DryRun">True when nothing was changed and <paramref name="Count"/> is what a real call would change now.</param>
public sealed record BulkResult(long Count, bool DryRun);

/// <summary>
/// <c>POST /jobs/retry</c> and <c>POST /jobs/cancel</c>: every job matching a filter, moved in
/// batches of <see cref="BatchSize"/>, each batch one statement and one transaction (see
/// Sql/bulk.sql), so no lock is held across the whole set and a retried call goes on where a failed
/// one stopped.
/// </summary>
public sealed class JobBulkActions(NpgsqlDataSource dataSource, CacheWriter cache)
{
    /// <summary>Jobs per statement: large enough that the per-statement cost fades, small enough to keep locks and WAL per transaction short.</summary>
    public const int BatchSize = 5000;

    /// <summary>The states <see cref="RetryAsync"/> takes jobs from.</summary>
    public static IReadOnlyList<string> RetryStates { get; } = [JobState.Discarded, JobState.Cancelled];

    /// <summary>The states <see cref="CancelAsync"/> takes jobs from; running jobs are cancelled one by one.</summary>
    public static IReadOnlyList<string> CancelStates { get; } = [JobState.Available, JobState.Scheduled, JobState.Retryable];

    /// <summary>Makes every discarded or cancelled job matching <paramref name="filter"/> available again.</summary>
    public async Task<BulkResult> RetryAsync(BulkFilter filter, bool dryRun, CancellationToken cancellationToken)
    {
        if (dryRun)
        {
            return new(await CountAsync(ApiSql.CountRetryableJobs, filter, cancellationToken).ConfigureAwait(false), true);
        }

        var changed = await RunBatchesAsync(ApiSql.RetryJobsBatch, filter, cancellationToken).ConfigureAwait(false);
        if (changed > 0)
        {
            // The retried jobs' cached finalized copies must go; one tag removal instead of a key per job.
            await cache.RemoveRuleAsync(CacheRules.FinalizedJob, cancellationToken).ConfigureAwait(false);
        }

        return new(changed, false);
    }

    /// <summary>Cancels every available, scheduled or retryable job matching <paramref name="filter"/>.</summary>
    public async Task<BulkResult> CancelAsync(BulkFilter filter, bool dryRun, CancellationToken cancellationToken) =>
        dryRun
            ? new(await CountAsync(ApiSql.CountCancellableJobs, filter, cancellationToken).ConfigureAwait(false), true)
            : new(await RunBatchesAsync(ApiSql.CancelJobsBatch, filter, cancellationToken).ConfigureAwait(false), false);

    private async Task<long> RunBatchesAsync(string sql, BulkFilter filter, CancellationToken cancellationToken)
    {
        long changed = 0;
        long? cursor = long.MaxValue;
        while (cursor is { } before)
        {
            await using var command = Command(sql, filter);
            command.Parameters.Add(new() { Value = before });
            command.Parameters.Add(new() { Value = BatchSize });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var next = reader.GetOrdinal("cursor");
            cursor = reader.IsDBNull(next) ? null : reader.GetInt64(next);
            changed += reader.GetInt64(reader.GetOrdinal("changed"));
        }

        return changed;
    }

    private async Task<long> CountAsync(string sql, BulkFilter filter, CancellationToken cancellationToken)
    {
        await using var command = Command(sql, filter);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private NpgsqlCommand Command(string sql, BulkFilter filter)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new() { Value = (object?)filter.State ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)filter.Queue ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)filter.Kind ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return command;
    }
}
