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

        var statements = await ReadStatementsAsync(reader, cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var indexes = await ReadIndexesAsync(reader, cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var tables = await ReadTablesAsync(reader, cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var horizon = await ReadHorizonAsync(reader, cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var longTransactions = await ReadLongTransactionsAsync(reader, cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var connections = await ReadConnectionsAsync(reader, cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var oldestWaiting = await ReadOldestWaitingJobSecondsAsync(reader, cancellationToken).ConfigureAwait(false);

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
        var oldestWaiting = await ReadOldestWaitingJobSecondsAsync(reader, cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var horizon = await ReadHorizonAsync(reader, cancellationToken).ConfigureAwait(false);
        return (oldestWaiting, horizon);
    }

    /// <summary>
    /// The query of the oldest waiting job's age in seconds (one float8, null when nothing waits),
    /// for a caller that sends it in its own batch (the Api's <c>GET /stats</c>): one query, one owner.
    /// </summary>
    public static NpgsqlBatchCommand OldestWaitingJobSecondsCommand() => Command(HealthSql.OldestWaitingJobSeconds);

    /// <summary>
    /// Reads the one row of <see cref="OldestWaitingJobSecondsCommand"/>'s result set, the one <paramref name="reader"/> is on,
    /// so the column's name stays with the query.
    /// </summary>
    public static async Task<double?> ReadOldestWaitingJobSecondsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var seconds = reader.GetOrdinal("oldest_waiting_seconds");
        return reader.IsDBNull(seconds) ? null : reader.GetDouble(seconds);
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        return command;
    }

    private static Task<List<StatementStats>> ReadStatementsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var (query, calls, totalMs, meanMs, rows) = (
            reader.GetOrdinal("query"), reader.GetOrdinal("calls"), reader.GetOrdinal("total_ms"), reader.GetOrdinal("mean_ms"), reader.GetOrdinal("rows"));
        return ReadAllAsync(reader, r => new StatementStats(r.GetString(query), r.GetInt64(calls), r.GetDouble(totalMs), r.GetDouble(meanMs), r.GetInt64(rows)), cancellationToken);
    }

    private static Task<List<IndexUsage>> ReadIndexesAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var (index, table, scans, size, valid, unique) = (
            reader.GetOrdinal("index_name"), reader.GetOrdinal("table_name"), reader.GetOrdinal("scans"), reader.GetOrdinal("size_bytes"),
            reader.GetOrdinal("is_valid"), reader.GetOrdinal("is_unique"));
        return ReadAllAsync(reader, r => new IndexUsage(r.GetString(index), r.GetString(table), r.GetInt64(scans), r.GetInt64(size), r.GetBoolean(valid), r.GetBoolean(unique)), cancellationToken);
    }

    private static Task<List<TableHealth>> ReadTablesAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var (table, live, dead, size, vacuum, autovacuum, analyze, autoanalyze) = (
            reader.GetOrdinal("table_name"), reader.GetOrdinal("live_tuples"), reader.GetOrdinal("dead_tuples"), reader.GetOrdinal("size_bytes"),
            reader.GetOrdinal("last_vacuum"), reader.GetOrdinal("last_autovacuum"), reader.GetOrdinal("last_analyze"), reader.GetOrdinal("last_autoanalyze"));
        return ReadAllAsync(reader, r => new TableHealth(r.GetString(table), r.GetInt64(live), r.GetInt64(dead), r.GetInt64(size),
            Time(r, vacuum), Time(r, autovacuum), Time(r, analyze), Time(r, autoanalyze)), cancellationToken);
    }

    // jobs.db_xmin_horizon returns at most one row: the session holding the oldest snapshot.
    private static async Task<XminHorizon?> ReadHorizonAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var (pid, application, state, ageXids, ageSeconds) = (
            reader.GetOrdinal("pid"), reader.GetOrdinal("application_name"), reader.GetOrdinal("state"), reader.GetOrdinal("xmin_age_xids"),
            reader.GetOrdinal("transaction_age_seconds"));
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new XminHorizon(reader.GetInt32(pid), Text(reader, application), Text(reader, state), reader.GetInt32(ageXids),
                reader.IsDBNull(ageSeconds) ? null : reader.GetDouble(ageSeconds))
            : null;
    }

    private static Task<List<LongTransaction>> ReadLongTransactionsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var (pid, application, state, ageSeconds, query) = (
            reader.GetOrdinal("pid"), reader.GetOrdinal("application_name"), reader.GetOrdinal("state"), reader.GetOrdinal("transaction_age_seconds"),
            reader.GetOrdinal("query"));
        return ReadAllAsync(reader, r => new LongTransaction(r.GetInt32(pid), Text(r, application), Text(r, state), r.GetDouble(ageSeconds), Text(r, query)), cancellationToken);
    }

    private static Task<List<ConnectionCount>> ReadConnectionsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var (application, state, connections) = (reader.GetOrdinal("application_name"), reader.GetOrdinal("state"), reader.GetOrdinal("connections"));
        return ReadAllAsync(reader, r => new ConnectionCount(r.GetString(application), r.GetString(state), r.GetInt64(connections)), cancellationToken);
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
