using Api.Sql;
using JobEngine;
using Npgsql;

namespace Api.Jobs;

/// <summary>
/// Enqueues through the engine's <see cref="JobClient"/> in a transaction that first names the API
/// key, so each new row records who enqueued it (the column default of migration 3) in the same
/// single INSERT. All jobs of a request commit together or not at all.
/// </summary>
public sealed class JobIntake(NpgsqlDataSource dataSource, JobClient jobs)
{
    /// <summary>Enqueues <paramref name="newJobs"/> as <paramref name="apiKeyName"/>; one result per job, in order.</summary>
    public async Task<IReadOnlyList<EnqueueResult>> EnqueueAsync(IReadOnlyList<NewJob> newJobs, string apiKeyName, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand(ApiSql.SetCreatedBy, connection, transaction))
        {
            command.Parameters.Add(new() { Value = apiKeyName });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var results = await jobs.EnqueueManyAsync(newJobs, transaction, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return results;
    }
}
