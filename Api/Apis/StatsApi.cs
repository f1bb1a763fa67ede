using Api.Auth;
using Api.Caching;
using Api.Stats;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Apis;

/// <summary>Queue statistics for operators and the admin page, cached briefly (<see cref="CacheRules.Stats"/>).</summary>
public static class StatsApi
{
    /// <summary>Maps <c>GET /stats</c>.</summary>
    public static IEndpointRouteBuilder MapStatsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/stats", GetStats).RequireAuthorization(ApiScopes.Admin).WithTags("Stats")
            .WithSummary("Counts per queue and state, throughput, error rate, queue latency, oldest waiting job");
        return app;
    }

    /// <summary><c>GET /stats</c>, with <c>X-Cache</c>; <c>Cache-Control: no-cache</c> recomputes.</summary>
    public static async Task<Ok<StatsView>> GetStats(HttpContext http, StatsReader stats, CacheStatus cacheStatus, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (view, outcome) = await stats.GetAsync(CacheStatus.WantsFresh(http.Request), cancellationToken);
        cacheStatus.Report(http, CacheRules.Stats, outcome);
        return TypedResults.Ok(view);
    }
}
