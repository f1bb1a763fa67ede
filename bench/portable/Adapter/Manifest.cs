using System.Text.Json;

namespace Adapter;

/// <summary>
/// Why it exists: <c>adapter.json</c> is what the harness reads before launch (database, tables and
/// indexes to watch, extensions to create), and the descriptor must agree with it. The adapter
/// reads the same file, so the two cannot drift, and checks every table and index it names exists
/// once the schema is installed, so a schema change that renames one fails the start loudly.
/// </summary>
internal sealed record Manifest(string System, string DbName, IReadOnlyList<string> EventTables, IReadOnlyList<string> EventIndexes, IReadOnlyList<string> Extensions)
{
    public static Manifest Load(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<Manifest>(stream, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })
            ?? throw new FormatException($"{path} is empty; expected the adapter manifest.");
    }
}
