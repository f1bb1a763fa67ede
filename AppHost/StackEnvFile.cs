// ./run.sh promises scripts and people the owner's connection in .stack/env as NAME=value lines
// (set -a; . .stack/env; set +a; psql). The passwords are the AppHost's parameters, known only
// here, so the AppHost writes the file, once the database answers, when Stack:EnvFile names it.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AppHost;

/// <summary>The values written to the env file, each resolved when the resources are up.</summary>
/// <param name="Infrastructure">PostgreSQL and Redis.</param>
/// <param name="AppRolePassword">The jobs_app role's password.</param>
/// <param name="WebhookSigningSecret">The Workers' webhook signing secret.</param>
public sealed record StackEnvValues(JobsInfrastructure Infrastructure, IResourceBuilder<ParameterResource> AppRolePassword, IResourceBuilder<ParameterResource> WebhookSigningSecret);

/// <summary>Writes the connection strings and secrets of this run to the file named by <c>Stack:EnvFile</c>.</summary>
public sealed partial class StackEnvFile(StackEnvValues values, IConfiguration configuration, ResourceNotificationService notifications, ILogger<StackEnvFile> logger) : BackgroundService
{
    /// <summary>The configuration key naming the file (unset: no file).</summary>
    public const string ConfigurationKey = "Stack:EnvFile";

    /// <summary>Registers the writer (run mode only: a deployment has no local file to write).</summary>
    public static void Add(IDistributedApplicationBuilder builder, StackEnvValues values)
    {
        if (builder.ExecutionContext.IsRunMode && !string.IsNullOrEmpty(builder.Configuration[ConfigurationKey]))
        {
            builder.Services.AddSingleton(values);
            builder.Services.AddHostedService<StackEnvFile>();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = configuration[ConfigurationKey]!;
        var infrastructure = values.Infrastructure;
        await notifications.WaitForResourceHealthyAsync(infrastructure.Database.Resource.Name, stoppingToken).ConfigureAwait(false);
        var owner = await infrastructure.Database.Resource.ConnectionStringExpression.GetValueAsync(stoppingToken).ConfigureAwait(false);
        var appPassword = await values.AppRolePassword.Resource.GetValueAsync(stoppingToken).ConfigureAwait(false);
        var parsed = new NpgsqlConnectionStringBuilder(owner);
        var lines = new (string Name, string? Value)[]
        {
            ("ConnectionStrings__jobsdb", await infrastructure.AppConnectionString(values.AppRolePassword).GetValueAsync(stoppingToken).ConfigureAwait(false)),
            ("ConnectionStrings__cache", await infrastructure.Cache.Resource.ConnectionStringExpression.GetValueAsync(stoppingToken).ConfigureAwait(false)),
            ("JOBS_OWNER_CONNECTION", owner),
            ("Migrator__AppRolePassword", appPassword),
            ("Webhooks__SigningSecret", await values.WebhookSigningSecret.Resource.GetValueAsync(stoppingToken).ConfigureAwait(false)),
            ("PGHOST", parsed.Host),
            ("PGPORT", parsed.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("PGDATABASE", parsed.Database),
            ("PGUSER", parsed.Username),
            ("PGPASSWORD", parsed.Password),
        };

        // Values are single-quoted (none holds a quote: generated secrets are letters and digits),
        // so bash sources the file as it is, semicolons and all. Only the owner may read it.
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var text = string.Concat(lines.Select(l => $"{l.Name}='{l.Value}'\n"));
        await File.WriteAllTextAsync(path, text, stoppingToken).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        LogWritten(path);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection strings written to {Path} (psql: set -a; . {Path}; set +a; psql)")]
    private partial void LogWritten(string path);
}
