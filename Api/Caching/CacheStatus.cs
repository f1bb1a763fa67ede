using System.Diagnostics.Metrics;
using Microsoft.Net.Http.Headers;

namespace Api.Caching;

/// <summary>What a cache lookup did.</summary>
public enum CacheOutcome
{
    /// <summary>Served from the cache.</summary>
    Hit,
    /// <summary>Not in the cache; computed and stored.</summary>
    Miss,
    /// <summary>The cache was not used (live data, or the client asked for fresh data).</summary>
    Bypass,
}

/// <summary>
/// Makes cache behaviour visible: each lookup adds one to the counter <c>api.cache.requests</c>
/// (tags <c>rule</c> and <c>result</c>) on the Api's meter, which ServiceDefaults exports, and a
/// cached endpoint also tells its client in <c>X-Cache: hit|miss|bypass</c>.
/// </summary>
public sealed class CacheStatus
{
    /// <summary>The response header.</summary>
    public const string HeaderName = "X-Cache";

    private readonly Counter<long> _requests;

    /// <summary>Creates the counter on the meter named after the application.</summary>
    public CacheStatus(IMeterFactory meters, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(environment);
        _requests = meters.Create(environment.ApplicationName).CreateCounter<long>("api.cache.requests", "{request}", "Cache lookups by rule and result (hit, miss, bypass).");
    }

    /// <summary>Counts one lookup.</summary>
    public void Record(CacheRule rule, CacheOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(rule);
        _requests.Add(1, new KeyValuePair<string, object?>("rule", rule.Name), new KeyValuePair<string, object?>("result", Text(outcome)));
    }

    /// <summary>Counts one lookup and says it in the response's <c>X-Cache</c> header.</summary>
    public void Report(HttpContext context, CacheRule rule, CacheOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(context);
        Record(rule, outcome);
        context.Response.Headers[HeaderName] = Text(outcome);
    }

    /// <summary>True when the client asked for fresh data (<c>Cache-Control: no-cache</c>).</summary>
    public static bool WantsFresh(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return CacheControlHeaderValue.TryParse(request.Headers.CacheControl.ToString(), out var value) && (value.NoCache || value.NoStore);
    }

    private static string Text(CacheOutcome outcome) => outcome switch
    {
        CacheOutcome.Hit => "hit",
        CacheOutcome.Miss => "miss",
        _ => "bypass",
    };
}
