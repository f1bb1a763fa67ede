using System.Text.Json;

namespace Driver;

/// <summary>What the harness reads from an adapter's <c>adapter.json</c> before launching it.</summary>
internal sealed record Manifest(string System, string DbName, IReadOnlyList<string> EventTables, IReadOnlyList<string> EventIndexes, IReadOnlyList<string> Extensions);

/// <summary>
/// Why it exists: one system the driver measures: its launcher (an executable speaking the
/// protocol), its manifest, and the query that counts its enqueued and completed jobs after the
/// drain, which is the one place the driver knows a system's tables.
/// </summary>
internal sealed record SystemUnderTest(string Name, string Launcher, Manifest Manifest, string CountsQuery)
{
    public static SystemUnderTest Load(string portableDir, string name)
    {
        var dir = name == "jobengine" ? portableDir : Path.Combine(portableDir, name);
        var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(Path.Combine(dir, "adapter.json")),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })
            ?? throw new FormatException($"{dir}/adapter.json is empty.");
        return manifest.System == name
            ? new(name, Path.Combine(dir, "adapter"), manifest, name == "jobengine" ? "JobengineCounts" : "PgbossCounts")
            : throw new FormatException($"{dir}/adapter.json names system '{manifest.System}'; expected '{name}'.");
    }
}
