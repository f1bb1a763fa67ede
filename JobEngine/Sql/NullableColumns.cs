using Npgsql;

namespace JobEngine.Sql;

/// <summary>Reads a nullable column by its name: the records read from query results share it.</summary>
internal static class NullableColumns
{
    /// <summary>The value of <paramref name="column"/>, or null when it is NULL.</summary>
    public static T? Nullable<T>(this NpgsqlDataReader reader, string column)
        where T : struct
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
    }

    /// <summary>The text of <paramref name="column"/>, or null when it is NULL.</summary>
    public static string? NullableText(this NpgsqlDataReader reader, string column)
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<string>(ordinal);
    }
}
