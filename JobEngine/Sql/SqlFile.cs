using System.Reflection;
using System.Text.RegularExpressions;

namespace JobEngine.Sql;

/// <summary>
/// Reads a <c>.sql</c> file embedded in an assembly and splits it into named queries, so SQL
/// lives in files a person can read and run, and code refers to each query by its name.
/// A section starts at a line <c>-- name: QueryName</c> and runs to the next such line.
/// </summary>
public static partial class SqlFile
{
    /// <summary>Loads every named query of the embedded resource <paramref name="resourceName"/>.</summary>
    /// <exception cref="InvalidOperationException">The resource is missing or holds no named query.</exception>
    public static IReadOnlyDictionary<string, string> Load(Assembly assembly, string resourceName)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"SQL resource '{resourceName}' is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        var parts = NameLine().Split(reader.ReadToEnd());
        // Split with a capture group yields: preamble, name1, body1, name2, body2, ...
        for (var i = 1; i + 1 < parts.Length; i += 2)
        {
            queries.Add(parts[i], parts[i + 1].Trim());
        }

        return queries.Count > 0
            ? queries
            : throw new InvalidOperationException($"SQL resource '{resourceName}' has no '-- name:' sections.");
    }

    /// <summary>The query called <paramref name="name"/>, or a clear error naming what is missing.</summary>
    public static string Get(this IReadOnlyDictionary<string, string> queries, string name)
    {
        ArgumentNullException.ThrowIfNull(queries);
        return queries.TryGetValue(name, out var sql)
            ? sql
            : throw new InvalidOperationException($"No SQL query named '{name}'.");
    }

    [GeneratedRegex(@"^--\s*name:\s*(\w+)\s*$", RegexOptions.Multiline)]
    private static partial Regex NameLine();
}
