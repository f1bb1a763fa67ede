using Api.Http;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Jobs;

/// <summary>
/// Why it exists: a producer's idempotency key arrives in the <c>Idempotency-Key</c> header of
/// <c>POST /jobs</c> or in the <c>idempotencyKey</c> field of each item of <c>POST /jobs/batch</c>,
/// is stored as <c>{api key name}:{key}</c> so two producers never share one, must fit the
/// stored limit (<see cref="NewJob.MaxIdempotencyKeyLength"/>) with that prefix, and is shown
/// back without it. This type owns all of that for one request.
/// </summary>
public sealed class IdempotencyKey
{
    /// <summary>The header of <c>POST /jobs</c>.</summary>
    public const string HeaderName = "Idempotency-Key";

    /// <summary>The field of a batch item.</summary>
    public const string FieldName = "idempotencyKey";

    private readonly string _prefix;
    private readonly string? _header;

    private IdempotencyKey(string apiKeyName, bool inBody, string? header)
    {
        _prefix = Prefix(apiKeyName);
        InBody = inBody;
        _header = header;
    }

    /// <summary>True when each job carries its key in its <c>idempotencyKey</c> field (a batch); false when the header holds it.</summary>
    public bool InBody { get; }

    /// <summary>What a valid key looks like, for a ProblemDetails.</summary>
    public string Expected => $"1 to {NewJob.MaxIdempotencyKeyLength - _prefix.Length} characters without control characters";

    /// <summary>Keys of batch items, namespaced for <paramref name="apiKeyName"/>.</summary>
    public static IdempotencyKey InBatchItems(string apiKeyName) => new(apiKeyName, inBody: true, header: null);

    /// <summary>The key of the <c>Idempotency-Key</c> header, if any, namespaced for <paramref name="apiKeyName"/>; a problem when the header is repeated.</summary>
    public static (IdempotencyKey? Key, ProblemHttpResult? Problem) FromHeader(HttpRequest request, string apiKeyName)
    {
        ArgumentNullException.ThrowIfNull(request);
        var values = request.Headers[HeaderName];
        var key = new IdempotencyKey(apiKeyName, inBody: false, values.Count == 1 ? values[0] : null);
        return values.Count > 1
            ? (null, ApiProblem.BadField(HeaderName, "one header value of " + key.Expected))
            : (key, null);
    }

    /// <summary>The key as stored for a job whose body field held <paramref name="fieldValue"/> (ignored unless <see cref="InBody"/>); null without one.</summary>
    public string? Stored(string? fieldValue) => (InBody ? fieldValue : _header) is { } key ? _prefix + key : null;

    /// <summary>The name a problem with the key of a job at <paramref name="path"/> is reported under.</summary>
    public string ProblemField(string path) => InBody ? path + FieldName : HeaderName;

    /// <summary>The key as its producer sent it, from the stored one.</summary>
    public static string? ForClient(string? stored, string? apiKeyName) =>
        stored is not null && apiKeyName is not null && stored.StartsWith(Prefix(apiKeyName), StringComparison.Ordinal)
            ? stored[Prefix(apiKeyName).Length..]
            : stored;

    private static string Prefix(string apiKeyName) => apiKeyName + ":";
}
