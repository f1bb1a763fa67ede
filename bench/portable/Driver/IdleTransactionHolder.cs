using Npgsql;

namespace Driver;

/// <summary>
/// Why it exists: the middle phase's pressure. A session opens a transaction, takes an XID and
/// then sits idle in it, so the xmin horizon stays pinned: VACUUM may not remove any row version
/// deleted or updated after it began, and dead tuples of the job tables pile up until it ends.
/// </summary>
internal sealed class IdleTransactionHolder : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private IdleTransactionHolder(NpgsqlConnection connection, NpgsqlTransaction transaction, long xid)
    {
        _connection = connection;
        _transaction = transaction;
        TransactionId = xid;
    }

    public long TransactionId { get; }

    public static async Task<IdleTransactionHolder> BeginAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(DriverSql.Get("HoldTransactionId"), connection, transaction);
        var xid = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        return new IdleTransactionHolder(connection, transaction, xid);
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.RollbackAsync().ConfigureAwait(false);
        await _transaction.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
