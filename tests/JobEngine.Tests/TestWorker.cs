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
        // Connected as the Worker is (prepared statements, custom plans), so the tests run its statements as it does.
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(db.AppConnectionString);
        JobEngine.JobsConnectionSettings.ApplyTo(connection);
        builder.Services.AddNpgsqlDataSource(connection.ConnectionString).AddJobEngine();
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

    /// <summary>The exit code, once the process has exited.</summary>
    public int ExitCode => _process.ExitCode;

    public static WorkerProcess Start(TestDatabase db, Dictionary<string, string> environment, TextWriter? log = null) =>
        Start(db.AppConnectionString, environment, log);

    /// <summary>Starts Worker.dll on <paramref name="connectionString"/>; its output goes to <paramref name="log"/> when given.</summary>
    public static WorkerProcess Start(string connectionString, Dictionary<string, string> environment, TextWriter? log = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__jobsdb"] = connectionString,
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["Jobs__DiagnosticKinds"] = "true",
        };
        foreach (var (name, value) in environment)
        {
            settings[name] = value;
        }

        return new WorkerProcess(Launch("Worker", [], settings, log));
    }

    /// <summary>Starts Api.dll on <paramref name="connectionString"/>, listening on <paramref name="url"/>; no Redis unless the environment names one.</summary>
    public static WorkerProcess StartApi(string connectionString, string url, Dictionary<string, string> environment, TextWriter? log = null)
    {
        var settings = new Dictionary<string, string>(environment)
        {
            ["ConnectionStrings__jobsdb"] = connectionString,
            ["ASPNETCORE_URLS"] = url,
        };
        return new WorkerProcess(Launch("Api", [], settings, log));
    }

    /// <summary>Runs Migrator.dll with <paramref name="args"/> to completion; returns its exit code, its output in <paramref name="log"/>.</summary>
    public static async Task<int> RunMigratorAsync(string ownerConnectionString, string appRolePassword, TextWriter log, params string[] args)
    {
        using var process = Launch("Migrator", args, new Dictionary<string, string>
        {
            ["ConnectionStrings__jobsdb"] = ownerConnectionString,
            ["Migrator__AppRolePassword"] = appRolePassword,
        }, log);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    private static Process Launch(string project, string[] args, Dictionary<string, string> environment, TextWriter? log)
    {
        var configuration = typeof(WorkerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(RepositoryRoot(), project, "bin", configuration, "net10.0", project + ".dll");
        var start = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var sink = log is null ? null : TextWriter.Synchronized(log);
        process.OutputDataReceived += (_, e) => sink?.WriteLine(e.Data);
        process.ErrorDataReceived += (_, e) => sink?.WriteLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Completes when the process has exited (killed or on its own).</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

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
