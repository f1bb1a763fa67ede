using JobEngine.Sql;

namespace Driver;

/// <summary>The driver's named queries (Sql/driver.sql).</summary>
internal static class DriverSql
{
    private static readonly IReadOnlyDictionary<string, string> Queries = SqlFile.Load(typeof(DriverSql).Assembly, "driver.sql");

    public static string Get(string name) => Queries.Get(name);
}
