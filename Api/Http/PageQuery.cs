using System.Globalization;
using Api.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Http;

/// <summary>
/// The query string of a keyset listing (<c>GET /jobs</c>, <c>GET /workflows</c>): only the
/// parameters the endpoint takes, each once, and its <c>limit</c> and <c>cursor</c>.
/// </summary>
public static class PageQuery
{
    /// <summary>
    /// A 400 naming the first parameter that is not one of <paramref name="allowed"/>, is repeated,
    /// or (<c>limit</c>, <c>cursor</c>) does not parse; null when the page can be read.
    /// </summary>
    /// <param name="query">The request's query string.</param>
    /// <param name="allowed">The parameters the endpoint takes, <c>limit</c> and <c>cursor</c> among them.</param>
    /// <param name="defaultLimit">The page size without <c>limit</c>.</param>
    /// <param name="maxLimit">The largest <c>limit</c>.</param>
    /// <param name="limit">The page size.</param>
    /// <param name="afterId">The id the page starts after (<see cref="long.MaxValue"/> for the first page).</param>
    public static ProblemHttpResult? Read(IQueryCollection query, string[] allowed, int defaultLimit, int maxLimit, out int limit, out long afterId)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(allowed);
        limit = defaultLimit;
        afterId = long.MaxValue;
        foreach (var (name, values) in query)
        {
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                return ApiProblem.BadField(name, $"no such parameter; the parameters are {string.Join(", ", allowed[..^1])} and {allowed[^1]}");
            }

            if (values.Count > 1)
            {
                return ApiProblem.BadField(name, "one value");
            }
        }

        string? limitText = query["limit"], cursor = query["cursor"];
        if (limitText is not null && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
        {
            return ApiProblem.BadField("limit", $"an integer from 1 to {maxLimit}");
        }

        return cursor is not null && !JobCursor.TryDecode(cursor, out afterId)
            ? ApiProblem.BadField("cursor", "the nextCursor of a previous page, unchanged")
            : null;
    }
}
