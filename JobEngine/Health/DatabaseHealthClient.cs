using JobEngine.Sql;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobEngine.Health;

/// <summary>
/// Why it exists: job queues die of bloat and of a vacuum held back by one old transaction, and
/// the checks an engineer would run by hand (pg_stat_statements, index usage, dead tuples, the
/// xmin horizon) belong in the product. Reads them through the <c>jobs.db_*</c> functions.
/// </summary>
public sealed class DatabaseHealthClient(NpgsqlDataSource dataSource, IOptions<DatabaseHealthOptions> options)
{
    /// <summary>The whole report (a dozen cheap statistics reads in one round trip).</summary>
    public async Task<DatabaseHealthReport> ReadAsync(int topStatements = 10, CancellationToken cancellationToken = default)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection);
        await using var batchScope = batch.ConfigureAwait(false);
        batch.BatchCommands.Add(Command(HealthSql.TopStatements, topStatements));
        batch.BatchCommands.Add(Command(HealthSql.IndexUsage));
        batch.BatchCommands.Add(Command(HealthSql.TableHealth));
        batch.BatchCommands.Add(Command(HealthSql.XminHorizon));
        batch.BatchCommands.Add(Command(HealthSql.LongTransactions, options.Value.LongTransactionAge.TotalSeconds));
        batch.BatchCommands.Add(Command(HealthSql.Connections));
        batch.BatchCommands.Add(Command(HealthSql.OldestWaitingJobSeconds));
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);

        var statements = await ReadAllAsync(reader, r => new StatementStats(r.GetString(0), r.GetInt64(1), r.GetDouble(2), r.GetDouble(3), r.GetInt64(4)), cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var indexes = await ReadAllAsync(reader, r => new IndexUsage(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetBoolean(4), r.GetBoolean(5)), cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var tables = await ReadAllAsync(reader, r => new TableHealth(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3),
            Time(r, 4), Time(r, 5), Time(r, 6), Time(r, 7)), cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var horizon = (await ReadAllAsync(reader, r => new XminHorizon(r.GetInt32(0), Text(r, 1), Text(r, 2), r.GetInt32(3), r.IsDBNull(4) ? null : r.GetDouble(4)), cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var longTransactions = await ReadAllAsync(reader, r => new LongTransaction(r.GetInt32(0), Text(r, 1), Text(r, 2), r.GetDouble(3), Text(r, 4)), cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var connections = await ReadAllAsync(reader, r => new ConnectionCount(r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        double? oldestWaiting = reader.IsDBNull(0) ? null : reader.GetDouble(0);

        return new DatabaseHealthReport(statements, indexes, tables, horizon, longTransactions, connections, oldestWaiting, options.Value);
    }

    /// <summary>The two figures <c>/health</c> watches: the oldest waiting job and the oldest snapshot, in seconds.</summary>
    public async Task<(double? OldestWaitingJobSeconds, XminHorizon? Horizon)> ReadWatchedAsync(CancellationToken cancellationToken = default)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection);
        await using var batchScope = batch.ConfigureAwait(false);
        batch.BatchCommands.Add(Command(HealthSql.OldestWaitingJobSeconds));
        batch.BatchCommands.Add(Command(HealthSql.XminHorizon));
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        double? oldestWaiting = reader.IsDBNull(0) ? null : reader.GetDouble(0);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var horizon = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new XminHorizon(reader.GetInt32(0), Text(reader, 1), Text(reader, 2), reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetDouble(4))
            : null;
        return (oldestWaiting, horizon);
    }

    /// <summary>
    /// The query of the oldest waiting job's age in seconds (one float8, null when nothing waits),
    /// for a caller that sends it in its own batch (the Api's <c>GET /stats</c>): one query, one owner.
    /// </summary>
    public static NpgsqlBatchCommand OldestWaitingJobSecondsCommand() => Command(HealthSql.OldestWaitingJobSeconds);

    private static NpgsqlBatchCommand Command(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        return command;
    }

    private static async Task<List<T>> ReadAllAsync<T>(NpgsqlDataReader reader, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
