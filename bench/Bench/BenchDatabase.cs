using Npgsql;

namespace Bench;

/// <summary>
/// Why it exists: every contender, and every run, gets a database of its own on the one local
/// PostgreSQL, so no run inherits another's tables, bloat or statistics. Dropped when disposed.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private static int _counter;
    private readonly BenchEnvironment _env;

    private BenchDatabase(BenchEnvironment env, string name, NpgsqlDataSource owner)
    {
        _env = env;
        Name = name;
        OwnerSource = owner;
    }

    public string Name { get; }

    /// <summary>The owner role on this database: DDL, seeding and statistics.</summary>
    public NpgsqlDataSource OwnerSource { get; }

    public string OwnerConnection => _env.Owner(Name);

    public string AppConnection => _env.App(Name);

    public string OwnerUrl => _env.OwnerUrl(Name);

    public static async Task<BenchDatabase> CreateAsync(BenchEnvironment env, string contender, CancellationToken cancellationToken)
    {
        var name = $"bench_{contender.Replace('-', '_')}_{Environment.ProcessId}_{Interlocked.Increment(ref _counter)}";
        await using (var admin = new NpgsqlConnection(env.Owner("postgres")))
        {
            await admin.OpenAsync(cancellationToken).ConfigureAwait(false);
            // A database name cannot be a parameter; this one is made above from fixed parts.
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return new BenchDatabase(env, name, NpgsqlDataSource.Create(env.Owner(name)));
    }

    public async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = OwnerSource.CreateCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new() { Value = p });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken, int timeoutSeconds = 600, params object[] parameters)
    {
        await using var command = OwnerSource.CreateCommand(sql);
        command.CommandTimeout = timeoutSeconds;
        foreach (var p in parameters)
        {
            command.Parameters.Add(new() { Value = p });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await OwnerSource.DisposeAsync().ConfigureAwait(false);
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(_env.Owner("postgres"));
        await admin.OpenAsync().ConfigureAwait(false);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
    }
}
