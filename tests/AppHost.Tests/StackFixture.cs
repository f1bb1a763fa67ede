using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace AppHost.Tests;

/// <summary>
/// One instance of the whole application, started from the AppHost's own model with the dashboard
/// on, shared by the tests of <see cref="StackTests"/>. Every process it starts inherits a marker
/// variable, so what is left after the stop is found in /proc whatever its parent.
/// </summary>
public sealed class StackFixture : IAsyncLifetime
{
    public const string MarkerVariable = "APPHOST_TEST_MARKER";

    private readonly CancellationTokenSource _watching = new();
    private Task _watch = Task.CompletedTask;

    public DistributedApplication App { get; private set; } = null!;
    public string Marker { get; } = Guid.NewGuid().ToString("N");
    public string AdminKey { get; } = "test-admin-" + Guid.NewGuid().ToString("N");
    public string BrowserToken { get; private set; } = "";
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "apphost-test-" + Guid.NewGuid().ToString("N")[..8]);
    public Uri Dashboard { get; private set; } = null!;
    public TimeSpan StartedIn { get; private set; }

    /// <summary>The latest snapshot of every resource instance (replicas one by one), by resource id.</summary>
    public ConcurrentDictionary<string, ResourceEvent> Latest { get; } = new();

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(MarkerVariable, Marker);
        // The AppHost's processes inherit this one's environment, as they would a user's shell. A
        // user's shell does not hold the test stack's variables that test.sh exports (owner
        // connection, passwords): clear them, so what the services see is what the AppHost gives.
        var testStackEnv = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", ".stack", "env");
        foreach (var line in File.Exists(testStackEnv) ? File.ReadAllLines(testStackEnv) : [])
        {
            Environment.SetEnvironmentVariable(line.Split('=', 2)[0], null);
        }

        var clock = Stopwatch.StartNew();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [
                $"Parameters:api-admin-key-hash={Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey)))}",
                $"Infrastructure:PostgresPort={FreePort()}",
                $"Infrastructure:RedisPort={FreePort()}",
                $"Infrastructure:DataDirectory={DataDirectory}",
                "ASPIRE_ALLOW_UNSECURED_TRANSPORT=true",
            ],
            (options, _) => options.DisableDashboard = false);
        App = await builder.BuildAsync();

        // The testing builder picks the dashboard's login token itself (and its port, read below).
        BrowserToken = App.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()["AppHost:BrowserToken"]!;
        var notifications = App.Services.GetRequiredService<ResourceNotificationService>();
        _watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in notifications.WatchAsync(_watching.Token))
                {
                    Latest[change.ResourceId] = change;
                }
            }
            catch (OperationCanceledException)
            {
                // The fixture ends.
            }
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await App.StartAsync(timeout.Token);
        await App.ResourceNotifications.WaitForResourceHealthyAsync("api", timeout.Token);
        await WaitForWorkersHealthyAsync(2, timeout.Token);
        StartedIn = clock.Elapsed;
        var dashboard = await JobEngine.Tests.Eventually.WaitForAsync(
            () => Task.FromResult(Latest.Values.FirstOrDefault(e => e.Resource.Name == "aspire-dashboard")?.Snapshot.Urls.FirstOrDefault(u => u.Name == "http")),
            url => url is not null, "the dashboard's URL");
        Dashboard = new Uri(dashboard!.Url);
    }

    public async Task DisposeAsync()
    {
        await _watching.CancelAsync();
        await _watch;
        await App.DisposeAsync();
        Environment.SetEnvironmentVariable(MarkerVariable, null);
        _watching.Dispose();
        foreach (var dir in new[] { DataDirectory, Path.Combine(Path.GetTempPath(), "jobs-aspire-" + Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(DataDirectory + "\n")))[..8]) })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    /// <summary>The current instances of a resource (a replica each).</summary>
    public IReadOnlyList<ResourceEvent> Instances(string resourceName) =>
        Latest.Values.Where(e => e.Resource.Name == resourceName).OrderBy(e => e.ResourceId, StringComparer.Ordinal).ToList();

    /// <summary>Waits until <paramref name="count"/> Worker replicas run and each says it is healthy.</summary>
    public Task<IReadOnlyList<ResourceEvent>> WaitForWorkersHealthyAsync(int count, CancellationToken cancellationToken = default) =>
        JobEngine.Tests.Eventually.WaitForAsync(
            () => Task.FromResult(Instances("worker")),
            workers => workers.Count(w => w.Snapshot.State?.Text == KnownResourceStates.Running && w.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy) == count,
            $"{count} healthy worker replicas", TimeSpan.FromMinutes(3));

    /// <summary>The process a replica runs (its snapshot's pid is the `dotnet run` wrapper's).</summary>
    public static int ServiceProcessOf(ResourceEvent instance)
    {
        var wrapper = Convert.ToInt32(instance.Snapshot.Properties.Single(p => p.Name == "executable.pid").Value, System.Globalization.CultureInfo.InvariantCulture);
        return ProcessTable.ChildrenOf(wrapper).Single(p => p.Command.Contains($"/{instance.Resource.Name}", StringComparison.OrdinalIgnoreCase)).Pid;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
