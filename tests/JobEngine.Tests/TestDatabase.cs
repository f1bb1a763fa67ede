using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Migrator;
using Npgsql;

namespace JobEngine.Tests;

/// <summary>
/// A fresh database on the test PostgreSQL (started by ./test.sh), migrated by the real
/// Migrator, reached by the tests as the services' least-privileged role. Dropped afterwards.
/// </summary>
public sealed class TestDatabase : IAsyncLifetime
{
    public string Name { get; } = "t_" + Guid.NewGuid().ToString("N")[..12];
    public string OwnerConnectionString { get; private set; } = "";
    public string AppConnectionString { get; private set; } = "";
    public NpgsqlDataSource App { get; private set; } = null!;
    public NpgsqlDataSource Owner { get; private set; } = null!;

    public static string Env(string name) =>
        Environment.GetEnvironmentVariable(name)
        ?? throw new InvalidOperationException($"{name} is not set: run the tests through ./test.sh, which starts PostgreSQL and Redis and exports .stack/env.");

    public static string AppRolePassword => Env("Migrator__AppRolePassword");

    public async Task InitializeAsync()
    {
        var server = new NpgsqlConnectionStringBuilder(Env("JOBS_OWNER_CONNECTION"));
        await using (var admin = NpgsqlDataSource.Create(server.ConnectionString))
        {
            await using var create = admin.CreateCommand($"CREATE DATABASE {Name}");
            await create.ExecuteNonQueryAsync();
        }

        OwnerConnectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = Name }.ConnectionString;
        AppConnectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString)
        {
            Database = Name,
            Username = "jobs_app",
            Password = AppRolePassword,
        }.ConnectionString;
        Owner = NpgsqlDataSource.Create(OwnerConnectionString);
        var (exitCode, output) = await MigrateAsync("apply");
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Migrating the test database {Name} failed (exit code {exitCode}):\n{output}");
        }

        App = NpgsqlDataSource.Create(AppConnectionString);
    }

    /// <summary>Runs a Migrator command on this database and returns its exit code and printed output.</summary>
    public async Task<(int ExitCode, string Output)> MigrateAsync(params string[] args) =>
        await MigrateAsync(new MigratorOptions { AppRolePassword = AppRolePassword }, args);

    public async Task<(int ExitCode, string Output)> MigrateAsync(MigratorOptions options, params string[] args)
    {
        using var output = new StringWriter();
        var runner = new MigrationRunner(Owner, Migration.LoadEmbedded(), Options.Create(options), output, NullLogger<MigrationRunner>.Instance);
        var command = new MigratorCommand(runner, output, NullLogger<MigratorCommand>.Instance);
        var code = await command.RunAsync(args, CancellationToken.None);
        return (code, output.ToString());
    }

    /// <summary>
    /// Calls so far (pg_stat_statements) of the statements the jobs_app role (the Api's and the Worker's)
    /// sent to this database whose text is LIKE any of <paramref name="patterns"/>.
    /// </summary>
    public Task<long> AppStatementCallsAsync(params string[] patterns) => ScalarAsync<long>("""
        SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND userid = 'jobs_app'::regrole
          AND query LIKE ANY ($1)
        """, (object)patterns);

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var command = Owner.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var command = Owner.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        // A database whose migration failed has no App source yet; it is dropped all the same.
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        await Owner.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var admin = NpgsqlDataSource.Create(Env("JOBS_OWNER_CONNECTION"));
        await using var drop = admin.CreateCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }
}
