namespace Migrator;

/// <summary>The Migrator's settings, bound from the <c>Migrator</c> configuration section.</summary>
public sealed class MigratorOptions
{
    /// <summary>The login role the Worker and Api connect with; it gets row access to the job tables and nothing more.</summary>
    public string AppRole { get; set; } = "jobs_app";

    /// <summary>The app role's password (from configuration or a secret store, never from code). Needed to create the role or change its password.</summary>
    public string? AppRolePassword { get; set; }

    /// <summary>How long a DDL statement may wait for a lock before it gives up, so a migration never queues every writer behind it.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an index build reports its phase and percent.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);
}
