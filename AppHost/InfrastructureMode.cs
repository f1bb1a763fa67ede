// Where PostgreSQL and Redis come from. Containers are what Aspire and azd expect; a machine
// without a container runtime (these build machines) runs the Debian packages' binaries instead.
// One rule decides, it can be overridden, and the AppHost says on start what it chose and why.
using System.Diagnostics;

namespace AppHost;

/// <summary>How the AppHost runs PostgreSQL and Redis.</summary>
public enum InfrastructureMode
{
    /// <summary><c>AddPostgres</c>/<c>AddRedis</c> containers with data volumes; always so in publish mode.</summary>
    Containers,

    /// <summary>Executable resources running the locally installed binaries (see <see cref="Local.LocalPostgresResource"/>).</summary>
    Executables,
}

/// <summary>The choice of <see cref="InfrastructureMode"/> and the reason for it.</summary>
/// <param name="Mode">What runs PostgreSQL and Redis.</param>
/// <param name="Reason">Why, as logged on start.</param>
public sealed record InfrastructureChoice(InfrastructureMode Mode, string Reason)
{
    /// <summary>The configuration key that forces a mode: <c>containers</c>, <c>executables</c> or <c>auto</c> (the default).</summary>
    public const string ConfigurationKey = "Infrastructure:Mode";

    /// <summary>Publish mode always gets containers; otherwise the configured mode, or containers when a container runtime answers.</summary>
    public static InfrastructureChoice Decide(IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            return new(InfrastructureMode.Containers, "publish mode: what a deployment runs");
        }

        var configured = builder.Configuration[ConfigurationKey] ?? "auto";
        if (Enum.TryParse<InfrastructureMode>(configured, ignoreCase: true, out var forced))
        {
            return new(forced, $"forced by {ConfigurationKey}={configured}");
        }

        if (!configured.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{ConfigurationKey} is '{configured}'; expected containers, executables or auto.");
        }

        var runtime = builder.Configuration["ASPIRE_CONTAINER_RUNTIME"] ?? "docker";
        return RuntimeAnswers(runtime)
            ? new(InfrastructureMode.Containers, $"'{runtime} info' answered")
            : new(InfrastructureMode.Executables, $"no container runtime answered ('{runtime} info' failed); set {ConfigurationKey}=containers to insist");
    }

    // `docker info` (or podman's) succeeds only when the CLI reaches a running engine.
    private static bool RuntimeAnswers(string runtime)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // No such CLI.
        }
    }
}
