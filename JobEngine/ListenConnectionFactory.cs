using Npgsql;

namespace JobEngine;

/// <summary>
/// Why it exists: every query runs on the pooled <see cref="NpgsqlDataSource"/> the host registered
/// (Aspire's <c>AddNpgsqlDataSource</c>), but LISTEN needs a connection of its own that never goes
/// back to a pool and notices a dead peer. It is cloned from that data source (same server,
/// credentials and application name), so the engine never reads a connection string itself.
/// </summary>
public sealed class ListenConnectionFactory(NpgsqlDataSource dataSource)
{
    /// <summary>A new, unpooled connection with keepalives, named <c>&lt;application name&gt;-listener</c>; the caller opens and disposes it.</summary>
    public NpgsqlConnection ForListening()
    {
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString)
        {
            Pooling = false,
            KeepAlive = 5,
            TcpKeepAlive = true,
            TcpKeepAliveTime = 10,
            TcpKeepAliveInterval = 5,
        };
        builder.ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? "jobs-listener" : builder.ApplicationName + "-listener";
        // The data source's own string omits the password; CloneWith carries it over.
        using var template = dataSource.CreateConnection();
        return template.CloneWith(builder.ConnectionString);
    }
}
