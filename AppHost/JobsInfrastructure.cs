// PostgreSQL and Redis for the stack, as containers or as local executables (InfrastructureChoice),
// with the same names and the same injected connection strings either way, so the rest of the
// topology (AppHost.cs) is written once.
using AppHost.Local;
using Microsoft.Extensions.Configuration;

namespace AppHost;

/// <summary>What the services connect to.</summary>
/// <param name="Database">The jobs database with the owner's connection (the Migrator's only).</param>
/// <param name="Cache">Redis.</param>
/// <param name="PostgresEndpoint">The server's endpoint, for the least-privileged role's connection string.</param>
public sealed record JobsInfrastructure(
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> Cache,
    EndpointReference PostgresEndpoint)
{
    /// <summary>The database's name, and the connection name the services read (ConnectionStrings:jobsdb).</summary>
    public const string DatabaseName = "jobsdb";

    /// <summary>Adds PostgreSQL and Redis as <paramref name="choice"/> says.</summary>
    public static JobsInfrastructure Add(IDistributedApplicationBuilder builder, InfrastructureChoice choice)
    {
        if (choice.Mode == InfrastructureMode.Containers)
        {
            var postgres = builder.AddPostgres("postgres").WithDataVolume();
            var cache = builder.AddRedis("cache").WithDataVolume();
            return new(postgres.AddDatabase(DatabaseName), cache, postgres.Resource.PrimaryEndpoint);
        }

        // Ports of their own (not the 5432/6379 of a system server, nor scripts/stack.sh's), configurable.
        var dataRoot = builder.Configuration["Infrastructure:DataDirectory"] ?? Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".stack", "aspire"));
        var server = builder.AddLocalPostgres("postgres", DatabaseName, builder.Configuration.GetValue("Infrastructure:PostgresPort", 55432), dataRoot);
        var redis = builder.AddLocalRedis("cache", builder.Configuration.GetValue("Infrastructure:RedisPort", 56379), dataRoot);
        return new(server, redis, server.Resource.PrimaryEndpoint);
    }

    /// <summary>The least-privileged role's connection (jobs_app, created by the Migrator with <paramref name="password"/>).</summary>
    public ReferenceExpression AppConnectionString(IResourceBuilder<ParameterResource> password) => ReferenceExpression.Create(
        $"Host={PostgresEndpoint.Property(EndpointProperty.Host)};Port={PostgresEndpoint.Property(EndpointProperty.Port)};Database={DatabaseName};Username=jobs_app;Password={password.Resource}");
}
