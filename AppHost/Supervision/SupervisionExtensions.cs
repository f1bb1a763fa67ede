// Marks the resources the AppHost looks after like a platform would: started again when they
// crash (CrashedResourceRestarter), and health checked replica by replica (ReplicaHealthMonitor).
using Microsoft.Extensions.DependencyInjection;

namespace AppHost.Supervision;

/// <summary>A resource whose crashed instances are started again.</summary>
public sealed class RestartOnCrashAnnotation : IResourceAnnotation;

/// <summary>A resource whose every replica answers its own HTTP health check at <paramref name="Path"/>.</summary>
/// <param name="Path">The health endpoint's path, for example <c>/health</c>.</param>
public sealed record ReplicaHealthCheckAnnotation(string Path) : IResourceAnnotation;

/// <summary>Adds the supervision annotations and the services that act on them.</summary>
public static class SupervisionExtensions
{
    /// <summary>An instance that exits without being asked to is started again within seconds.</summary>
    public static IResourceBuilder<T> WithRestartOnCrash<T>(this IResourceBuilder<T> resource)
        where T : IResource
    {
        resource.ApplicationBuilder.Services.AddHostedService<CrashedResourceRestarter>();
        return resource.WithAnnotation(new RestartOnCrashAnnotation());
    }

    /// <summary>
    /// Each replica's health comes from its own port (not the shared proxy, which answers for
    /// whichever replica it reaches): every running replica is polled where it listens.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReplicaHealthCheck(this IResourceBuilder<ProjectResource> resource, string path)
    {
        resource.ApplicationBuilder.Services.AddHostedService<ReplicaHealthMonitor>();
        return resource.WithAnnotation(new ReplicaHealthCheckAnnotation(path));
    }
}
