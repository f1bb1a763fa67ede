using Npgsql;

namespace Adapter;

/// <summary>
/// Why it exists: the harness hands a <c>postgres://user:password@host:port/database</c> URL, which
/// Npgsql does not read. This is that URL taken apart, with the connection strings the adapter needs.
/// </summary>
internal sealed record DatabaseUrl(string Host, int Port, string Database, string Username, string Password, SslMode? SslMode)
{
    /// <exception cref="FormatException">The URL is not a postgres:// URL naming a host, a user and a database.</exception>
    public static DatabaseUrl Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql"))
        {
            throw new FormatException("DATABASE_URL is not a postgres:// URL; expected postgres://user:password@host:port/database.");
        }

        var userInfo = uri.UserInfo.Split(':', 2);
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (uri.Host.Length == 0 || userInfo[0].Length == 0 || database.Length == 0)
        {
            throw new FormatException("DATABASE_URL lacks a host, a user or a database; expected postgres://user:password@host:port/database.");
        }

        SslMode? ssl = null;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = pair.Split('=', 2) is [var k, var v] ? (k, Uri.UnescapeDataString(v)) : (pair, "");
            if (key == "sslmode")
            {
                ssl = Enum.TryParse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode)
                    ? mode
                    : throw new FormatException($"DATABASE_URL has sslmode '{value}'; expected disable, allow, prefer, require, verify-ca or verify-full.");
            }
        }

        return new(uri.Host, uri.Port > 0 ? uri.Port : 5432, database, Uri.UnescapeDataString(userInfo[0]),
            userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "", ssl);
    }

    /// <summary>The URL's database as <paramref name="username"/>: the URL's own user (the owner, who runs the Migrator) or the services' role.</summary>
    public string ConnectionString(string username, string password, string applicationName)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Database = Database,
            Username = username,
            Password = password,
            ApplicationName = applicationName,
        };
        if (SslMode is { } ssl)
        {
            builder.SslMode = ssl;
        }

        return builder.ConnectionString;
    }

    /// <summary>Without the password, for logs.</summary>
    public override string ToString() => $"postgres://{Username}@{Host}:{Port}/{Database}";
}
