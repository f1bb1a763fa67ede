// PostgreSQL as an executable resource, for machines where no container runtime answers: the
// Debian package's server run by local-infrastructure.sh. It is a resource with a connection
// string, so WithReference injects ConnectionStrings__<name> exactly as for the container.
namespace AppHost.Local;

/// <summary>A PostgreSQL server started from the locally installed binaries, on 127.0.0.1 and a fixed port.</summary>
/// <param name="name">The resource name.</param>
/// <param name="workingDirectory">Where the script runs (the AppHost's directory).</param>
/// <param name="password">The superuser's password, set by the init step on every start.</param>
/// <param name="databaseName">The database the init step creates and the connection string names.</param>
public sealed class LocalPostgresResource(string name, string workingDirectory, ParameterResource password, string databaseName)
    : ExecutableResource(name, "bash", workingDirectory), IResourceWithConnectionString
{
    /// <summary>The name of the server's TCP endpoint.</summary>
    public const string EndpointName = "tcp";

    /// <summary>The server's TCP endpoint.</summary>
    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    /// <summary>The superuser's password.</summary>
    public ParameterResource Password { get; } = password;

    /// <summary>The owner's connection (the superuser's, as with the container) to the database.</summary>
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username=postgres;Password={Password};Database={databaseName}");
}
