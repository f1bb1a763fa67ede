using Api.Auth;
using JobEngine.Health;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>
/// Database health for operators (admin scope): top statements of the job schema, index usage,
/// dead tuples and vacuum, the xmin horizon, long transactions and connections per application,
/// with the thresholds that make a figure a problem. Never cached: it is read when things go wrong.
/// </summary>
public static class DatabaseApi
{
    /// <summary>Maps <c>GET /db/health</c>.</summary>
    public static IEndpointRouteBuilder MapDatabaseApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/db/health", GetDatabaseHealth).RequireAuthorization(ApiScopes.Admin).WithTags("Database")
            .WithSummary("pg_stat_statements top statements, index usage, dead tuples and vacuum, xmin horizon, long transactions, connections");
        return app;
    }

    /// <summary><c>GET /db/health</c>.</summary>
    public static async Task<Ok<DatabaseHealthReport>> GetDatabaseHealth(DatabaseHealthClient health, CancellationToken cancellationToken) =>
        TypedResults.Ok(await health.ReadAsync(cancellationToken: cancellationToken));
}
