using Migrator;

namespace Microsoft.Extensions.Hosting;

/// <summary>The Migrator's services: its data source (owner connection), the embedded migrations and the runner.</summary>
public static class MigratorServices
{
    /// <summary>
    /// Registers everything <see cref="MigratorCommand"/> needs: Aspire's PostgreSQL client on
    /// <c>ConnectionStrings:jobsdb</c> (the database owner's connection string; settings under
    /// <c>Aspire:Npgsql</c>) and the <c>Migrator</c> section.
    /// </summary>
    public static IHostApplicationBuilder AddMigratorServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Ours: no health check (a one-shot command serves no /health), an application name for
        // pg_stat_activity, and no span for a statement that names a password: CREATE/ALTER ROLE
        // carries the app role's password in its text, which a span would export as db.query.text.
        builder.AddNpgsqlDataSource(
            "jobsdb",
            settings => settings.DisableHealthChecks = true,
            b =>
            {
                b.ConnectionStringBuilder.ApplicationName ??= "migrator";
                b.ConfigureTracing(tracing => tracing.ConfigureCommandFilter(command => !command.CommandText.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase)));
            });
        builder.Services.AddOptions<MigratorOptions>().Bind(builder.Configuration.GetSection("Migrator"));
        builder.Services.AddSingleton<IReadOnlyList<Migration>>(_ => Migration.LoadEmbedded());
        builder.Services.AddSingleton(Console.Out);
        builder.Services.AddSingleton<MigrationRunner>();
        builder.Services.AddSingleton<MigratorCommand>();
        return builder;
    }
}
