using System.Globalization;
using JobEngine.Sql;
using Npgsql;

namespace Migrator;

// The runner, the role setup and the index repair read one file of queries: loaded once here, and
// run through one scalar helper, so no type parses the file again or copies the helper.
internal static class MigratorSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(MigratorSql).Assembly, "migrator.sql");

    public static string Get(string name) => Queries.Get(name);

    public static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string query, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(Get(query), connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }

        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result is T typed ? typed : (T)Convert.ChangeType(result!, typeof(T), CultureInfo.InvariantCulture);
    }
}
