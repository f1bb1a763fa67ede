using System.Diagnostics;
using Npgsql;

namespace ApiBench;

/// <summary>
/// A throwaway database for the benchmark: created by the owner role, migrated by the real
/// Migrator, filled with set-based SQL (one INSERT ... SELECT generate_series per table part),
/// dropped at the end.
/// </summary>
internal sealed class BenchDatabase(string root) : IAsyncDisposable
{
    public const string Name = "bench_api";

    private static readonly string OwnerServer = Environment.GetEnvironmentVariable("JOBS_OWNER_CONNECTION")
        ?? throw new InvalidOperationException("JOBS_OWNER_CONNECTION is not set: run bench/api/run.sh.");

    public string OwnerConnectionString { get; } = new NpgsqlConnectionStringBuilder(OwnerServer) { Database = Name }.ConnectionString;

    public string AppConnectionString { get; } = new NpgsqlConnectionStringBuilder(OwnerServer)
    {
        Database = Name,
        Username = "jobs_app",
        Password = Environment.GetEnvironmentVariable("Migrator__AppRolePassword"),
    }.ConnectionString;

    public NpgsqlDataSource Owner { get; private set; } = null!;

    public async Task CreateAsync()
    {
        await using (var server = NpgsqlDataSource.Create(OwnerServer))
        {
            await using var drop = server.CreateCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
            await drop.ExecuteNonQueryAsync();
            await using var create = server.CreateCommand($"CREATE DATABASE {Name}");
            await create.ExecuteNonQueryAsync();
        }

        var migrator = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(root, "Migrator/bin/Release/net10.0/Migrator.dll"), "apply"])
        {
            Environment = { ["ConnectionStrings__jobsdb"] = OwnerConnectionString, ["Logging__LogLevel__Default"] = "Warning" },
            RedirectStandardOutput = true,
        })!;
        await migrator.StandardOutput.ReadToEndAsync();
        await migrator.WaitForExitAsync();
        if (migrator.ExitCode != 0)
        {
            throw new InvalidOperationException("The Migrator failed on the benchmark database.");
        }

        Owner = NpgsqlDataSource.Create(OwnerConnectionString);
    }

    /// <summary>1,000,000 finalized jobs over the last 23 hours (in the history) (2% discarded with an error, 1% cancelled) and 10,000 waiting ones.</summary>
    public async Task LoadAsync(int finalized, int waiting)
    {
        await ExecuteAsync("""
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at, attempted_at, finalized_at, errors, created_by)
            SELECT nextval(pg_get_serial_sequence('jobs.job', 'id')), CASE WHEN g % 50 = 0 THEN 'discarded' WHEN g % 100 = 1 THEN 'cancelled' ELSE 'completed' END::jobs.job_state,
                   (ARRAY['default', 'email', 'reports', 'webhooks'])[1 + g % 4],
                   (ARRAY['noop', 'send-email', 'build-report', 'webhook', 'fail'])[1 + g % 5],
                   jsonb_build_object('n', g),
                   5, 1, 25,
                   t, t, t + interval '15 ms', t + interval '40 ms',
                   CASE WHEN g % 50 = 0 THEN jsonb_build_array(jsonb_build_object('attempt', 1, 'type', 'Boom', 'message', 'failed on ' || g)) ELSE '[]'::jsonb END,
                   'bench'
            FROM generate_series(1, $1) AS g,
                 LATERAL (SELECT now() - interval '23 hours' + (g * (interval '23 hours' / $1))) AS s (t)
            """, finalized);
        await ExecuteAsync("""
            INSERT INTO jobs.job (state, queue, kind, args, priority, max_attempts, run_at, created_by)
            SELECT 'available', 'default', 'noop', '{}', 5, 25, now(), 'bench' FROM generate_series(1, $1)
            """, waiting);
        await ExecuteAsync("INSERT INTO jobs.kind (kind, worker) VALUES ('send-email', 'bench'), ('build-report', 'bench') ON CONFLICT DO NOTHING");
        await ExecuteAsync("VACUUM (ANALYZE) jobs.job");
        await ExecuteAsync("ANALYZE jobs.job_history");
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = Owner.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var command = Owner.CreateCommand(sql);
        command.CommandTimeout = 600;
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Owner.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var server = NpgsqlDataSource.Create(OwnerServer);
        await using var drop = server.CreateCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }
}
