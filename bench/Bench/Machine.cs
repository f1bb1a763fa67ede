using System.Diagnostics;

namespace Bench;

/// <summary>
/// Why it exists: a figure means nothing without the machine it came from: cores, CPU, memory,
/// PostgreSQL's version and settings, the runtimes, the commit, and the load average (the machine
/// is shared, so load from others is part of the noise and is recorded).
/// </summary>
internal sealed class Machine
{
    public int Cores { get; init; } = Environment.ProcessorCount;
    public required string Cpu { get; init; }
    public required string MemoryTotal { get; init; }
    public required SortedDictionary<string, string> PostgreSql { get; init; }
    public required string Node { get; init; }
    public string DotNet { get; init; } = Environment.Version.ToString();
    public required string Commit { get; init; }
    public string StartedUtc { get; init; } = DateTime.UtcNow.ToString("u", System.Globalization.CultureInfo.InvariantCulture);
    public string LoadBefore { get; init; } = LoadAverage();
    public string LoadAfter { get; set; } = "";
    public double DurationSeconds { get; set; }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    public static async Task<Machine> DescribeAsync(BenchEnvironment env, CancellationToken cancellationToken)
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await using (var source = Npgsql.NpgsqlDataSource.Create(env.OwnerConnection))
        await using (var command = source.CreateCommand(BenchSql.ServerSettings))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                settings[reader.GetString(0)] = reader.GetString(1) + (reader.GetString(2) is { Length: > 0 } unit ? $" ({unit})" : "");
            }
        }

        return new Machine
        {
            Cpu = ProcLine("/proc/cpuinfo", "model name"),
            MemoryTotal = ProcLine("/proc/meminfo", "MemTotal"),
            PostgreSql = settings,
            Node = await NodeVersionAsync(cancellationToken).ConfigureAwait(false),
            Commit = env.Commit,
        };
    }

    private static string ProcLine(string file, string key) =>
        File.Exists(file) ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown" : "unknown";

    private static async Task<string> NodeVersionAsync(CancellationToken cancellationToken)
    {
        using var node = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true })!;
        var version = await node.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await node.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return version.Trim();
    }
}
