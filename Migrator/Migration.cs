using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Migrator;

/// <summary>
/// One numbered migration file: <c>NNNN_name.sql</c> with a header (Purpose, Owner, Expects,
/// Result, Rollback, Transaction) followed by <c>-- migrate:up</c> and <c>-- migrate:down</c>.
/// A file with <c>Transaction: none</c> runs statement by statement outside a transaction, as
/// <c>CREATE INDEX CONCURRENTLY</c> requires; there a <c>SELECT</c> returns, in a column named
/// <c>statement</c>, the statements to run in its place (DDL that depends on the objects the
/// database holds when it runs, such as an index built on each partition of a table).
/// </summary>
public sealed partial record Migration(int Version, string Name, string Purpose, bool Transactional, string Up, string Down, string Checksum)
{
    private static readonly string[] RequiredHeaders = ["Purpose", "Owner", "Expects", "Result", "Rollback", "Transaction"];

    /// <summary>Statements of a non-transactional section, split at a semicolon that ends a line.</summary>
    public static IReadOnlyList<string> Statements(string section) =>
        [.. StatementEnd().Split(section).Select(s => s.Trim()).Where(HasCode)];

    /// <summary>Whether a statement of a non-transactional section is a query returning the statements to run in its place.</summary>
    public static bool ReturnsStatements(string statement) =>
        statement.Split('\n').First(IsCode).TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase);

    private static bool HasCode(string statement) => statement.Split('\n').Any(IsCode);

    private static bool IsCode(string line) => line.Trim().Length > 0 && !line.TrimStart().StartsWith("--", StringComparison.Ordinal);

    /// <summary>Parses a migration file; the message of any error names the file and what is missing.</summary>
    public static Migration Parse(string fileName, string text)
    {
        var match = FileName().Match(fileName);
        if (!match.Success)
        {
            throw new FormatException($"Migration file '{fileName}' is not named NNNN_name.sql.");
        }

        var headers = HeaderLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim(), StringComparer.OrdinalIgnoreCase);
        var missing = RequiredHeaders.Where(h => !headers.ContainsKey(h)).ToList();
        if (missing.Count > 0)
        {
            throw new FormatException($"Migration file '{fileName}' lacks the header line(s): {string.Join(", ", missing)}.");
        }

        var up = text.IndexOf("-- migrate:up", StringComparison.Ordinal);
        var down = text.IndexOf("-- migrate:down", StringComparison.Ordinal);
        if (up < 0 || down < up)
        {
            throw new FormatException($"Migration file '{fileName}' needs '-- migrate:up' followed by '-- migrate:down'.");
        }

        var transaction = headers["Transaction"].ToLowerInvariant();
        if (transaction is not ("yes" or "none"))
        {
            throw new FormatException($"Migration file '{fileName}': 'Transaction:' must be 'yes' or 'none', not '{transaction}'.");
        }

        return new Migration(
            int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
            match.Groups[2].Value,
            headers["Purpose"],
            transaction == "yes",
            text[(up + "-- migrate:up".Length)..down].Trim(),
            text[(down + "-- migrate:down".Length)..].Trim(),
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))));
    }

    /// <summary>Every migration embedded in this assembly, in version order.</summary>
    public static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migration).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("Migrations/", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            migrations.Add(Parse(resource["Migrations/".Length..], reader.ReadToEnd()));
        }

        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null
            ? [.. migrations.OrderBy(m => m.Version)]
            : throw new FormatException($"Two migration files share version {duplicate.Key}.");
    }

    [GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex FileName();

    [GeneratedRegex(@"^--\s*(Purpose|Owner|Expects|Result|Rollback|Transaction):(.*)$", RegexOptions.Multiline)]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@";\s*$", RegexOptions.Multiline)]
    private static partial Regex StatementEnd();
}
