using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Worker.Handlers;

namespace JobEngine.Tests;

/// <summary>An in-process worker host on a test database, with the built-in and test handlers.</summary>
public sealed class TestWorker : IAsyncDisposable
{
    private readonly IHost _host;

    private TestWorker(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public static async Task<TestWorker> StartAsync(TestDatabase db, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LeaseDuration"] = "00:00:30",
            ["PollInterval"] = "00:00:01",
            ["RescueInterval"] = "00:00:01",
            ["Retry:BaseDelay"] = "00:00:00.010",
            ["Retry:MaxDelay"] = "00:00:00.050",
            ["DrainTimeout"] = "00:00:05",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddJobEngine(db.AppConnectionString);
        builder.Services.AddJobWorker(builder.Configuration);
        builder.Services.AddJobHandler<NoopHandler, NoArgs>("noop");
        builder.Services.AddJobHandler<SleepHandler, SleepArgs>("sleep");
        builder.Services.AddJobHandler<FailHandler, FailArgs>("fail");
        builder.Services.AddSingleton(db);
        configure?.Invoke(builder.Services);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        var host = builder.Build();
        await host.StartAsync();
        return new TestWorker(host);
    }

    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>The Worker service as a separate OS process (to be killed with SIGKILL), on a test database.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static WorkerProcess Start(TestDatabase db, Dictionary<string, string> environment)
    {
        var configuration = typeof(WorkerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var workerDll = Path.Combine(RepositoryRoot(), "Worker", "bin", configuration, "net10.0", "Worker.dll");
        var start = new ProcessStartInfo("dotnet", [workerDll])
        {
            WorkingDirectory = Path.GetDirectoryName(workerDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__jobsdb"] = db.AppConnectionString;
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["Jobs__DiagnosticKinds"] = "true";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process);
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aspire.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Aspire.sln not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
