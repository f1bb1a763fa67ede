using System.Security.Claims;
using Api.Caching;
using Api.Http;
using Api.Jobs;
using JobEngine;
using Microsoft.Extensions.Options;

namespace Api.Apis;

/// <summary>What the jobs endpoints need, bound in one parameter (eShop's services idiom).</summary>
public sealed class JobServices(
    JobClient jobs,
    JobIntake intake,
    JobReader reader,
    JobListing listing,
    JobBulkActions bulk,
    KnownKinds kinds,
    ServedQueues queues,
    JsonBody body,
    CacheStatus cacheStatus,
    IOptionsMonitor<ApiOptions> options)
{
    /// <summary>Cancel and retry.</summary>
    public JobClient Jobs { get; } = jobs;
    /// <summary>Enqueue, recording the API key.</summary>
    public JobIntake Intake { get; } = intake;
    /// <summary>Cached single-job reads.</summary>
    public JobReader Reader { get; } = reader;
    /// <summary>The keyset listing.</summary>
    public JobListing Listing { get; } = listing;
    /// <summary>Retry and cancel of every job a filter matches.</summary>
    public JobBulkActions Bulk { get; } = bulk;
    /// <summary>Known kinds.</summary>
    public KnownKinds Kinds { get; } = kinds;
    /// <summary>Which queues a live Worker serves.</summary>
    public ServedQueues Queues { get; } = queues;
    /// <summary>Request body reading.</summary>
    public JsonBody Body { get; } = body;
    /// <summary>X-Cache and the cache metric.</summary>
    public CacheStatus CacheStatus { get; } = cacheStatus;
    /// <summary>The Api's settings.</summary>
    public ApiOptions Options => options.CurrentValue;
}

/// <summary>Who is calling: the configured key's name and whether it holds the admin scope.</summary>
/// <param name="Name">The API key's name.</param>
/// <param name="IsAdmin">True for the admin scope.</param>
public sealed record Caller(string Name, bool IsAdmin)
{
    /// <summary>The caller of an authenticated request.</summary>
    public static Caller Of(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new(user.Identity?.Name ?? "", user.HasClaim(Auth.ApiScopes.ClaimType, Auth.ApiScopes.Admin));
    }
}
