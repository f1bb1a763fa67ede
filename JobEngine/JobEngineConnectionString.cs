using Npgsql;

namespace JobEngine;

/// <summary>
/// The connection string the engine was configured with. The pooled <see cref="NpgsqlDataSource"/>
/// serves every query; the LISTEN connection is built from this string instead, unpooled and with
/// keepalives, so it is never shared and a dead peer is noticed.
/// </summary>
public sealed class JobEngineConnectionString(string connectionString)
{
    /// <summary>The connection string as configured.</summary>
    public string ConnectionString { get; } = connectionString;

    /// <summary>The same server and credentials, for the dedicated LISTEN connection.</summary>
    public string ForListening()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString)
        {
            Pooling = false,
            KeepAlive = 5,
            TcpKeepAlive = true,
            TcpKeepAliveTime = 10,
            TcpKeepAliveInterval = 5,
        };
        builder.ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? "jobs-listener" : builder.ApplicationName + "-listener";
        return builder.ConnectionString;
    }
}
