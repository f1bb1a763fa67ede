// Each replica's health, asked of that replica. Aspire's HTTP health check goes through the
// resource's endpoint, which with replicas is one proxy in front of all of them, so one healthy
// replica hid a sick one. Here every running replica of a ReplicaHealthCheckAnnotation resource
// is polled at the address it listens on (its own ASPNETCORE_URLS, behind the proxy) and its
// snapshot carries the result, which the dashboard shows and WaitForResourceHealthyAsync waits for.
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace AppHost.Supervision;

/// <summary>Polls every replica of a <see cref="ReplicaHealthCheckAnnotation"/> resource at its own URL.</summary>
public sealed class ReplicaHealthMonitor(ResourceNotificationService notifications, TimeProvider time) : BackgroundService
{
    private const string ReportName = "replica_http";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, (IResource Resource, Uri Url)> _running = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watch = WatchAsync(stoppingToken);
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            KeyValuePair<string, (IResource Resource, Uri Url)>[] replicas;
            lock (_running)
            {
                replicas = [.. _running];
            }

            await Task.WhenAll(replicas.Select(r => CheckAsync(r.Key, r.Value.Resource, r.Value.Url, stoppingToken))).ConfigureAwait(false);
        }

        await watch.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    // Keeps the set of running replicas and their own URLs up to date.
    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                if (change.Resource.Annotations.OfType<ReplicaHealthCheckAnnotation>().FirstOrDefault() is not { } check)
                {
                    continue;
                }

                var url = change.Snapshot.EnvironmentVariables.FirstOrDefault(v => v.Name == "ASPNETCORE_URLS")?.Value?
                    .Split(';').FirstOrDefault(u => u.StartsWith("http://", StringComparison.Ordinal));
                lock (_running)
                {
                    if (change.Snapshot.State?.Text == KnownResourceStates.Running && url is not null)
                    {
                        _running[change.ResourceId] = (change.Resource, new Uri(new Uri(url), check.Path));
                    }
                    else
                    {
                        _running.Remove(change.ResourceId);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost stops.
        }
    }

    private async Task CheckAsync(string resourceId, IResource resource, Uri url, CancellationToken cancellationToken)
    {
        HealthReportSnapshot report;
        try
        {
            using var response = await _http.GetAsync(url, cancellationToken).ConfigureAwait(false);
            report = response.IsSuccessStatusCode
                ? new(ReportName, HealthStatus.Healthy, $"{url} answered {(int)response.StatusCode}", null)
                : new(ReportName, HealthStatus.Unhealthy, $"{url} answered {(int)response.StatusCode}", null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            report = new(ReportName, HealthStatus.Unhealthy, $"{url} did not answer", e.Message);
        }

        await notifications.PublishUpdateAsync(resource, resourceId, s => s.State?.Text == KnownResourceStates.Running
            ? s.WithHealthReports([.. s.HealthReports.Where(r => r.Name != ReportName), report with { LastRunAt = time.GetUtcNow().UtcDateTime }])
            : s).ConfigureAwait(false);
    }
}
