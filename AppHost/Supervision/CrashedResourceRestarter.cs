// Aspire does not restart a process that dies: a killed Worker replica stays Finished (exit code
// 137) until someone clicks Start. A platform (Kubernetes, Container Apps) would start it again, so
// the AppHost does too, for resources marked WithRestartOnCrash. One stopped on purpose (the
// dashboard's Stop goes through Stopping first) stays stopped, and nothing restarts while the
// AppHost itself shuts down.
using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppHost.Supervision;

/// <summary>Starts again an instance of a <see cref="RestartOnCrashAnnotation"/> resource that exited unasked.</summary>
public sealed partial class CrashedResourceRestarter(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    IHostApplicationLifetime lifetime,
    ILogger<CrashedResourceRestarter> logger) : BackgroundService
{
    // The last state seen of each instance (resource id), to tell a crash (Running -> Finished)
    // from a stop (Running -> Stopping -> Finished).
    private readonly ConcurrentDictionary<string, string> _lastState = new();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var change in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
        {
            if (!change.Resource.Annotations.OfType<RestartOnCrashAnnotation>().Any() || change.Snapshot.State?.Text is not { } state)
            {
                continue;
            }

            var previous = _lastState.GetValueOrDefault(change.ResourceId);
            _lastState[change.ResourceId] = state;
            if (previous == KnownResourceStates.Running && IsTerminal(state) && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                LogRestarting(change.ResourceId, state, change.Snapshot.ExitCode);
                var result = await commands.ExecuteCommandAsync(change.ResourceId, KnownResourceCommands.StartCommand, stoppingToken).ConfigureAwait(false);
                if (!result.Success)
                {
                    LogRestartFailed(change.ResourceId, result.Message);
                }
            }
        }
    }

    private static bool IsTerminal(string state) =>
        state == KnownResourceStates.Finished || state == KnownResourceStates.Exited || state == KnownResourceStates.FailedToStart;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{ResourceId} crashed ({State}, exit code {ExitCode}); starting it again")]
    private partial void LogRestarting(string resourceId, string state, int? exitCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "{ResourceId} could not be started again: {Message}")]
    private partial void LogRestartFailed(string resourceId, string? message);
}
