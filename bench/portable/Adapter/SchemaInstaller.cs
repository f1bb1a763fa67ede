using System.Diagnostics;
using JobEngine.Sql;
using Npgsql;

namespace Adapter;

/// <summary>
/// Why it exists: the protocol says each adapter installs its system's schema the way a user
/// would. Ours is the Migrator's <c>apply</c>, run here as a child process on the URL's user (the
/// database's owner), its output sent to stderr. It holds an advisory lock, so replicas starting
/// together apply once, and a restarted replica finds the schema up to date. Then the manifest's
/// tables and indexes are checked to exist, and the applied schema version is read.
/// </summary>
internal sealed class SchemaInstaller(AdapterSettings settings, Manifest manifest, ILogger<SchemaInstaller> logger)
{
    private static readonly IReadOnlyDictionary<string, string> Sql = SqlFile.Load(typeof(SchemaInstaller).Assembly, "adapter.sql");

    /// <summary>Applies the migrations and returns the schema version.</summary>
    /// <exception cref="InvalidOperationException">The Migrator failed, or a table or index the manifest names is missing.</exception>
    public async Task<string> InstallAsync(string appRolePassword, CancellationToken cancellationToken)
    {
        var owner = settings.Database.ConnectionString(settings.Database.Username, settings.Database.Password, $"portable-adapter-{settings.InstanceId}-migrate");
        await RunMigratorAsync(owner, appRolePassword, cancellationToken).ConfigureAwait(false);

        await using var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var missing = new NpgsqlCommand(Sql.Get("MissingRelations"), connection))
        {
            missing.Parameters.Add(new() { Value = manifest.EventTables.Concat(manifest.EventIndexes).ToArray() });
            var names = new List<string>();
            await using var reader = await missing.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                names.Add(reader.GetString(0));
            }

            if (names.Count > 0)
            {
                throw new InvalidOperationException($"adapter.json names {string.Join(", ", names)}, which the installed schema does not have; update the manifest to the schema's hot tables and indexes.");
            }
        }

        await using var version = new NpgsqlCommand(Sql.Get("SchemaVersion"), connection);
        return Convert.ToString(await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    private async Task RunMigratorAsync(string ownerConnection, string appRolePassword, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(settings.MigratorDll);
        info.ArgumentList.Add("apply");
        info.Environment["ConnectionStrings__jobsdb"] = ownerConnection;
        info.Environment["Migrator__AppRolePassword"] = appRolePassword;
        info.Environment["Migrator__AppRole"] = AppRolePassword.Role;
        info.Environment.Remove("DATABASE_URL");

        logger.LogInformation("Installing the schema: Migrator apply on {Database}.", settings.Database);
        using var migrator = Process.Start(info) ?? throw new InvalidOperationException($"Could not start the Migrator ({settings.MigratorDll}).");
        // Its output is logs: to stderr, never to the protocol's stdout.
        migrator.OutputDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[migrator] {e.Data}"); } };
        migrator.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[migrator] {e.Data}"); } };
        migrator.BeginOutputReadLine();
        migrator.BeginErrorReadLine();
        await migrator.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (migrator.ExitCode != 0)
        {
            throw new InvalidOperationException($"Migrator apply exited with {migrator.ExitCode}; its output is above on stderr.");
        }
    }
}
