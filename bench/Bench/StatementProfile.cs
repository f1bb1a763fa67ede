namespace Bench;

/// <summary>One statement's share of a measured interval (from two pg_stat_statements snapshots).</summary>
internal sealed record StatementCost(string Query, long Calls, double TotalMs, long Rows)
{
    public double MeanMs => Calls == 0 ? 0 : TotalMs / Calls;
}

/// <summary>
/// Why it exists: when a contender is slower, the answer to "what limits it" starts with the
/// statements it spent its database time on; pg_stat_statements is preloaded by scripts/stack.sh.
/// </summary>
internal static class StatementProfile
{
    public static async Task<Dictionary<long, StatementCost>> SnapshotAsync(BenchDatabase db, CancellationToken cancellationToken)
    {
        var snapshot = new Dictionary<long, StatementCost>();
        await using var command = db.OwnerSource.CreateCommand(BenchSql.StatementStats);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = reader.GetInt64(0);
            var cost = new StatementCost(reader.GetString(4), reader.GetInt64(1), reader.GetDouble(2), reader.GetInt64(3));
            snapshot[id] = snapshot.TryGetValue(id, out var same) ? same with { Calls = same.Calls + cost.Calls, TotalMs = same.TotalMs + cost.TotalMs, Rows = same.Rows + cost.Rows } : cost;
        }

        return snapshot;
    }

    /// <summary>What ran between the two snapshots, most expensive first.</summary>
    public static List<StatementCost> Between(Dictionary<long, StatementCost> before, Dictionary<long, StatementCost> after) =>
        [.. after.Select(a => before.TryGetValue(a.Key, out var b)
                ? a.Value with { Calls = a.Value.Calls - b.Calls, TotalMs = a.Value.TotalMs - b.TotalMs, Rows = a.Value.Rows - b.Rows }
                : a.Value)
            .Where(c => c.Calls > 0)
            .OrderByDescending(c => c.TotalMs)];
}
