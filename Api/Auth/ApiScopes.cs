namespace Api.Auth;

/// <summary>The two scopes an API key can hold, which are also the names of the authorization policies.</summary>
public static class ApiScopes
{
    /// <summary>The claim that carries a key's scope.</summary>
    public const string ClaimType = "scope";
    /// <summary>Everything: all jobs, cancel, retry, statistics, the admin area.</summary>
    public const string Admin = "admin";
    /// <summary>Enqueue, and read the jobs this key enqueued.</summary>
    public const string Producer = "producer";
}
