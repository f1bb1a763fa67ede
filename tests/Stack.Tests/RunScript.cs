using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using JobEngine.Tests;

namespace Stack.Tests;

/// <summary>
/// ./run.sh as an operator runs it (the AppHost under `dotnet run`), on its own infrastructure (a
/// fresh STACK_DIR and free ports), with what the tests already built (NO_BUILD). Every process it starts inherits a marker
/// variable, so what is left running afterwards can be found in /proc whatever its parent.
/// </summary>
public sealed class RunScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private RunScript(Process process, string stackDir, string marker, int redisPort, int apiPort, string adminKey)
    {
        RedisPort = redisPort;
        _process = process;
        StackDir = stackDir;
        Marker = marker;
        ApiPort = apiPort;
        AdminKey = adminKey;
    }

    public string StackDir { get; }
    public string Marker { get; }
    public int RedisPort { get; }
    public int ApiPort { get; }
    public string AdminKey { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Output => string.Join('\n', _output);

    public static RunScript Start(int workers, IReadOnlyDictionary<string, string>? environment = null)
    {
        var root = WorkerProcess.RepositoryRoot();
        var stackDir = Path.Combine(Path.GetTempPath(), "run-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(stackDir);
        var marker = Guid.NewGuid().ToString("N");
        var adminKey = "test-admin-" + Guid.NewGuid().ToString("N");
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "run.sh")])
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var configuration = typeof(RunScript).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var apiPort = FreePort();
        var redisPort = FreePort();
        foreach (var (name, value) in new Dictionary<string, string>
        {
            ["STACK_DIR"] = stackDir,
            ["PG_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REDIS_PORT"] = redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["API_PORT"] = apiPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["API_ADMIN_KEY"] = adminKey,
            ["WORKERS"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DASHBOARD_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DASHBOARD_OTLP_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DASHBOARD_RESOURCE_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CONFIGURATION"] = configuration,
            ["NO_BUILD"] = "1",
            ["RUN_TEST_MARKER"] = marker,
        })
        {
            start.Environment[name] = value;
        }

        // A user starts run.sh from a plain shell: the test stack's variables, which test.sh exports
        // to every test (owner connection, passwords), stay out of it and so out of every service.
        var testStackEnv = Path.Combine(root, ".stack", "env");
        foreach (var line in File.Exists(testStackEnv) ? File.ReadAllLines(testStackEnv) : [])
        {
            start.Environment.Remove(line.Split('=', 2)[0]);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var script = new RunScript(Process.Start(start)!, stackDir, marker, redisPort, apiPort, adminKey);
        script._process.OutputDataReceived += (_, e) => script.Record(e.Data);
        script._process.ErrorDataReceived += (_, e) => script.Record(e.Data);
        script._process.BeginOutputReadLine();
        script._process.BeginErrorReadLine();
        return script;
    }

    /// <summary>The variables run.sh's infrastructure wrote (connection strings, signing secret).</summary>
    public IReadOnlyDictionary<string, string> StackEnvironment() =>
        File.ReadAllLines(Path.Combine(StackDir, "env"))
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1].Trim('\''));

    /// <summary>
    /// Every live process that inherited this run's marker: what run.sh started, daemons included.
    /// Redis rewrites its environment block when it sets its title, so it is also found by its port.
    /// </summary>
    public IReadOnlyList<(int Pid, string Command)> Processes()
    {
        var needle = "RUN_TEST_MARKER=" + Marker;
        var redis = $"redis-server 127.0.0.1:{RedisPort}";
        var found = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ"));
                var command = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
                if (environ.Split('\0').Contains(needle) || command.StartsWith(redis, StringComparison.Ordinal))
                {
                    found.Add((pid, command));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while being read.
            }
        }

        return found;
    }

    /// <summary>The environment a process of this run was started with.</summary>
    public static IReadOnlyDictionary<string, string> EnvironmentOf(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : "");

    /// <summary>What Ctrl+C or an orchestrator's stop does: SIGTERM to run.sh.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(new CancellationTokenSource(timeout).Token);

    public async ValueTask DisposeAsync()
    {
        // Only reached in full when the test failed half-way: leave nothing behind.
        if (!_process.HasExited)
        {
            Terminate();
            try
            {
                await WaitForExitAsync(TimeSpan.FromSeconds(60));
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        foreach (var (pid, _) in Processes())
        {
            try
            {
                Process.GetProcessById(pid).Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Already gone.
            }
        }

        _process.Dispose();
        Directory.Delete(StackDir, recursive: true);
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
