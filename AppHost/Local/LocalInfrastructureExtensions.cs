// Declares the executable PostgreSQL and Redis resources with what dependents need from them: an
// init step PostgreSQL waits for, fixed loopback ports, and health checks that open a real
// connection, so WaitFor releases a dependent only when the server answers.
using Microsoft.Extensions.DependencyInjection;

namespace AppHost.Local;

/// <summary>Adds PostgreSQL and Redis run from the Debian packages' binaries.</summary>
public static class LocalInfrastructureExtensions
{
    private static readonly GenerateParameterDefault GeneratedPassword = new() { MinLength = 24, Special = false };

    /// <summary>
    /// PostgreSQL as user postgres, data under <paramref name="dataRoot"/>, after a one-shot init
    /// (<c>NAME-init</c>: initdb when the cluster is new, the password, the database).
    /// </summary>
    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name, string databaseName, int port, string dataRoot)
    {
        var password = builder.AddParameter($"{name}-password", GeneratedPassword, secret: true, persist: false);
        var script = Script(builder);
        var server = new LocalPostgresResource(name, builder.AppHostDirectory, password.Resource, databaseName);
        var init = builder.AddExecutable($"{name}-init", "bash", builder.AppHostDirectory, script, "postgres-init", dataRoot, databaseName)
            .WithEnvironment("POSTGRES_PASSWORD", password)
            .WithParentRelationship(server);
        return builder.AddResource(server)
            .WithArgs(script, "postgres", dataRoot, Port(port))
            .WithEndpoint(port: port, targetPort: port, name: LocalPostgresResource.EndpointName, isProxied: false)
            .WaitForCompletion(init)
            .WithConnectionHealthCheck(builder, (services, key, connectionString) => services.AddHealthChecks().AddNpgSql(_ => connectionString() ?? throw NotReady(name), name: key));
    }

    /// <summary>Redis on loopback, its snapshot under <paramref name="dataRoot"/>/redis.</summary>
    public static IResourceBuilder<LocalRedisResource> AddLocalRedis(this IDistributedApplicationBuilder builder, string name, int port, string dataRoot)
    {
        var password = builder.AddParameter($"{name}-password", GeneratedPassword, secret: true, persist: false);
        return builder.AddResource(new LocalRedisResource(name, builder.AppHostDirectory, password.Resource))
            .WithArgs(Script(builder), "redis", dataRoot, Port(port))
            .WithEnvironment("REDIS_PASSWORD", password)
            .WithEndpoint(port: port, targetPort: port, name: LocalRedisResource.EndpointName, isProxied: false)
            .WithConnectionHealthCheck(builder, (services, key, connectionString) => services.AddHealthChecks().AddRedis(_ => connectionString() ?? throw NotReady(name), name: key));
    }

    // The check connects with the resource's own connection string, known once its endpoint is allocated.
    private static IResourceBuilder<T> WithConnectionHealthCheck<T>(this IResourceBuilder<T> resource, IDistributedApplicationBuilder builder, Action<IServiceCollection, string, Func<string?>> addCheck)
        where T : IResourceWithConnectionString
    {
        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(resource.Resource, async (_, cancellationToken) =>
            connectionString = await resource.Resource.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false));
        var key = $"{resource.Resource.Name}_check";
        addCheck(builder.Services, key, () => connectionString);
        return resource.WithHealthCheck(key);
    }

    private static string Script(IDistributedApplicationBuilder builder) => Path.Combine(builder.AppHostDirectory, "Local", "local-infrastructure.sh");

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static InvalidOperationException NotReady(string name) => new($"The connection string of '{name}' is not known yet.");
}
