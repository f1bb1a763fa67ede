// Redis as an executable resource, for machines where no container runtime answers: the Debian
// package's redis-server run by local-infrastructure.sh, with a connection string shaped like the
// container's (host:port,password=...).
namespace AppHost.Local;

/// <summary>A Redis server started from the locally installed binary, on 127.0.0.1 and a fixed port.</summary>
/// <param name="name">The resource name.</param>
/// <param name="workingDirectory">Where the script runs (the AppHost's directory).</param>
/// <param name="password">The server's password (requirepass).</param>
public sealed class LocalRedisResource(string name, string workingDirectory, ParameterResource password)
    : ExecutableResource(name, "bash", workingDirectory), IResourceWithConnectionString
{
    /// <summary>The name of the server's TCP endpoint.</summary>
    public const string EndpointName = "tcp";

    /// <summary>The server's TCP endpoint.</summary>
    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    /// <summary>The server's password.</summary>
    public ParameterResource Password { get; } = password;

    /// <summary>The connection string StackExchange.Redis reads.</summary>
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)},password={Password}");
}
