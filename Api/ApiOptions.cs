namespace Api;

/// <summary>
/// The Api's settings (section <c>Api</c>): its keys, the kinds it accepts without a registered
/// Worker, and the limits that keep one request from costing more than its share.
/// </summary>
public sealed class ApiOptions
{
    /// <summary>API keys by name: the SHA-256 hash of each key and its scope. Keys themselves are never configured.</summary>
    public Dictionary<string, ApiKeyOptions> Keys { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Kinds accepted in addition to those running Workers registered in <c>jobs.kind</c>.</summary>
    public List<string> Kinds { get; init; } = [];

    /// <summary>Most jobs in one <c>POST /jobs/batch</c>.</summary>
    public int MaxBatchSize { get; set; } = 1000;

    /// <summary>Largest request body accepted, in bytes; larger ones get 413.</summary>
    public int MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest single request header value, in bytes; larger ones get 431.</summary>
    public int MaxHeaderValueBytes { get; set; } = 8 * 1024;

    /// <summary>Failed authentications allowed per client IP in each <see cref="AuthFailureWindow"/>; past it, 429.</summary>
    public int AuthFailureLimit { get; set; } = 10;

    /// <summary>The window over which failed authentications are counted.</summary>
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>One configured API key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>Lowercase hex SHA-256 of the key.</summary>
    public string Hash { get; set; } = "";

    /// <summary><c>admin</c> or <c>producer</c>.</summary>
    public string Scope { get; set; } = "";
}
