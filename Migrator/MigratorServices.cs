using Migrator;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

/// <summary>The Migrator's services: its data source (owner connection), the embedded migrations and the runner.</summary>
public static class MigratorServices
{
    /// <summary>Registers everything <see cref="MigratorCommand"/> needs, from <c>ConnectionStrings:jobsdb</c> and the <c>Migrator</c> section.</summary>
    public static IHostApplicationBuilder AddMigratorServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var connectionString = builder.Configuration.GetConnectionString("jobsdb")
            ?? throw new InvalidOperationException("ConnectionStrings:jobsdb is not set (env ConnectionStrings__jobsdb): the Migrator needs the database owner's connection string.");
        var withName = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "migrator" }.ConnectionString;
        builder.Services.AddNpgsqlDataSource(withName);
        builder.Services.AddOptions<MigratorOptions>().Bind(builder.Configuration.GetSection("Migrator"));
        builder.Services.AddSingleton<IReadOnlyList<Migration>>(_ => Migration.LoadEmbedded());
        builder.Services.AddSingleton(Console.Out);
        builder.Services.AddSingleton<MigrationRunner>();
        builder.Services.AddSingleton<MigratorCommand>();
        return builder;
    }
}
