using System.Diagnostics;
using Npgsql;

namespace Reliability.Tests;

/// <summary>
/// Why it exists: the chaos run restarts PostgreSQL, which would break every other test running
/// against the shared test server at the same moment. So the run gets its own PostgreSQL and Redis,
/// brought up by the same scripts/stack.sh on ports derived from the test stack's (PostgreSQL on
/// PG_PORT + 1000, Redis on that + 10000; or CHAOS_PG_PORT / CHAOS_REDIS_PORT), data in
/// .stack/chaos-PORT, and stopped at the end.
/// </summary>
public sealed class ChaosStack : IAsyncDisposable
{
    private const string PgBin = "/usr/lib/postgresql/15/bin";
    private readonly string _stackDir;
    private readonly Dictionary<string, string> _env;
    private readonly Dictionary<string, string> _scriptEnvironment;

    private ChaosStack(string stackDir, Dictionary<string, string> scriptEnvironment, Dictionary<string, string> env)
    {
        _stackDir = stackDir;
        _scriptEnvironment = scriptEnvironment;
        _env = env;
    }

    /// <summary>The owner role's connection to the stack's jobsdb (creates databases, runs the Migrator).</summary>
    public string OwnerConnectionString => _env["JOBS_OWNER_CONNECTION"];

    /// <summary>The services' role's connection to jobsdb.</summary>
    public string AppConnectionString => _env["ConnectionStrings__jobsdb"];

    public string AppRolePassword => _env["Migrator__AppRolePassword"];

    public string WebhookSecret => _env["Webhooks__SigningSecret"];

    /// <summary>Every secret of this stack: none may ever appear in a service's log.</summary>
    public IReadOnlyDictionary<string, string> Secrets => new Dictionary<string, string>
    {
        ["app role password"] = AppRolePassword,
        ["webhook signing secret"] = WebhookSecret,
        ["owner role password"] = new NpgsqlConnectionStringBuilder(OwnerConnectionString).Password!,
        ["Redis password"] = _env["ConnectionStrings__cache"].Split("password=")[1],
    };

    public static async Task<ChaosStack> StartAsync()
    {
        var testPort = Environment.GetEnvironmentVariable("PG_PORT") ?? Environment.GetEnvironmentVariable("PGPORT") ?? "54329";
        var pgPort = Environment.GetEnvironmentVariable("CHAOS_PG_PORT") ?? Port(testPort, 1000);
        var redisPort = Environment.GetEnvironmentVariable("CHAOS_REDIS_PORT") ?? Port(pgPort, 10000);
        var stackDir = Path.Combine(WorkerProcess.RepositoryRoot(), ".stack", "chaos-" + pgPort);
        var scriptEnvironment = new Dictionary<string, string> { ["STACK_DIR"] = stackDir, ["PG_PORT"] = pgPort, ["REDIS_PORT"] = redisPort };
        await StackScriptAsync("up", scriptEnvironment);
        var env = File.ReadAllLines(Path.Combine(stackDir, "env"))
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1].Trim('\''), StringComparer.Ordinal);
        return new ChaosStack(stackDir, scriptEnvironment, env);
    }

    /// <summary>A fresh database on this stack, migrated by the real Migrator process; returns the owner's and the app role's connection strings.</summary>
    public async Task<(string Owner, string App)> CreateDatabaseAsync(string name, TextWriter migratorLog)
    {
        await using (var admin = NpgsqlDataSource.Create(OwnerConnectionString))
        {
            await using var create = admin.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE); CREATE DATABASE {name}");
            await create.ExecuteNonQueryAsync();
        }

        var owner = new NpgsqlConnectionStringBuilder(OwnerConnectionString) { Database = name }.ConnectionString;
        var app = new NpgsqlConnectionStringBuilder(AppConnectionString) { Database = name }.ConnectionString;
        var code = await WorkerProcess.RunMigratorAsync(owner, AppRolePassword, migratorLog, "apply");
        return code == 0 ? (owner, app) : throw new InvalidOperationException($"The Migrator exited with {code}; see its log.");
    }

    private static string Port(string port, int offset) =>
        (int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) + offset).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>pg_ctl restart -m fast: every session is terminated, the server comes back on the same port.</summary>
    public Task RestartPostgresAsync() => PgCtlAsync("restart");

    /// <summary>pg_ctl stop -m fast: the server is down until <see cref="StartPostgresAsync"/>.</summary>
    public Task StopPostgresAsync() => PgCtlAsync("stop");

    /// <summary>pg_ctl start, waiting until it accepts connections.</summary>
    public Task StartPostgresAsync() => PgCtlAsync("start");

    private Task PgCtlAsync(string action) => RunAsync("runuser", [
        "-u", "postgres", "--", $"{PgBin}/pg_ctl", "-D", _env["PG_DATA_DIR"],
        "-l", Path.Combine(Path.GetDirectoryName(_env["PG_DATA_DIR"])!, "postgres.log"),
        .. action == "start" ? Array.Empty<string>() : ["-m", "fast"], "-w", "-t", "60", action], []);

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await StackScriptAsync("down", _scriptEnvironment);
    }

    private static Task StackScriptAsync(string command, Dictionary<string, string> environment) =>
        RunAsync("bash", [Path.Combine(WorkerProcess.RepositoryRoot(), "scripts", "stack.sh"), command], environment);

    private static async Task RunAsync(string program, string[] args, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}
