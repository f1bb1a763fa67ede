using System.Text.Json;
using System.Text.Json.Nodes;
using Api.Jobs;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Http;

/// <summary>
/// The body of <c>POST /jobs</c> (and each item of <c>POST /jobs/batch</c>), as the OpenAPI
/// document shows it. Bodies are read by <see cref="Parse"/>, which checks each field's JSON type
/// itself so a wrong type, a null or a huge number is a 400 naming that field, then validates the
/// job once with <see cref="NewJob.Validate"/>, whose constants state the limits.
/// </summary>
/// <remarks>
/// Validation policy: the Api validates a request here, once, and answers a ProblemDetails;
/// <see cref="JobClient"/> checks again at its own boundary and throws, because it is a library
/// that other callers use without the Api. A job that passed here never fails there.
/// </remarks>
/// <param name="Kind">Which handler runs it: a kind a Worker registered or <c>Api:Kinds</c> lists.</param>
/// <param name="Args">Its arguments, a JSON object (default <c>{}</c>).</param>
/// <param name="Queue">The queue (default <c>default</c>).</param>
/// <param name="Priority">0 runs first, 9 last (default 5).</param>
/// <param name="RunAt">ISO 8601 time before which it does not run (default now).</param>
/// <param name="MaxAttempts">Attempts before it is discarded, 1 to 1000 (default 25).</param>
/// <param name="IdempotencyKey">Batch items only: the per-job equivalent of the <c>Idempotency-Key</c> header.</param>
public sealed record EnqueueRequest(string Kind, JsonObject? Args, string? Queue, short? Priority, DateTimeOffset? RunAt, short? MaxAttempts, string? IdempotencyKey)
{
    private static readonly string[] Fields = ["kind", "args", "queue", "priority", "runAt", "maxAttempts", "idempotencyKey"];

    /// <summary>
    /// Reads one job from <paramref name="element"/>. <paramref name="path"/> prefixes field names
    /// in errors (<c>[3].</c>); <paramref name="key"/> says where its idempotency key comes from
    /// and namespaces it per API key.
    /// </summary>
    public static (NewJob? Job, ProblemHttpResult? Problem) Parse(JsonElement element, string path, IdempotencyKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (element.ValueKind != JsonValueKind.Object)
        {
            return Fail(path.Length == 0 ? "body" : path.TrimEnd('.'), "a JSON object with at least 'kind'");
        }

        string? kind = null, queue = null, keyField = null;
        var args = "{}";
        short? priority = null, maxAttempts = null;
        DateTimeOffset? runAt = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var field = path + property.Name;
            var value = property.Value;
            if (!seen.Add(property.Name))
            {
                return Fail(field, "each field at most once");
            }

            var known = property.Name switch
            {
                "kind" => TryString(value, required: true, out kind),
                "queue" => TryString(value, required: false, out queue),
                Jobs.IdempotencyKey.FieldName when key.InBody => TryString(value, required: false, out keyField),
                "args" => TryObject(value, out args),
                "priority" => TryOptional(value, JsonValueKind.Number, static (JsonElement e, out short n) => e.TryGetInt16(out n), out priority),
                "maxAttempts" => TryOptional(value, JsonValueKind.Number, static (JsonElement e, out short n) => e.TryGetInt16(out n), out maxAttempts),
                "runAt" => TryOptional(value, JsonValueKind.String, static (JsonElement e, out DateTimeOffset t) => e.TryGetDateTimeOffset(out t), out runAt),
                _ => (bool?)null,
            };
            switch (known)
            {
                case null:
                    return Fail(field, "no such field; the fields are " + string.Join(", ", Fields.Where(f => key.InBody || f != Jobs.IdempotencyKey.FieldName)));
                case false:
                    return Fail(field, property.Name == Jobs.IdempotencyKey.FieldName ? "a string of " + key.Expected : Expected(property.Name));
            }
        }

        if (kind is null)
        {
            return Fail(path + "kind", Expected("kind"), $"'{path}kind' is required.");
        }

        var job = new NewJob(kind, args)
        {
            Queue = queue ?? NewJob.DefaultQueue,
            Priority = priority ?? NewJob.DefaultPriority,
            MaxAttempts = maxAttempts ?? NewJob.DefaultMaxAttempts,
            RunAt = runAt,
            IdempotencyKey = key.Stored(keyField),
        };
        var errors = job.Validate();
        return errors.Count == 0
            ? (job, null)
            : errors[0].Field == Jobs.IdempotencyKey.FieldName
                ? Fail(key.ProblemField(path), key.Expected)
                : Fail(path + errors[0].Field, errors[0].Expected);
    }

    private static string Expected(string field) => field switch
    {
        "kind" => "a string: a kind a Worker registered or Api:Kinds lists",
        "queue" => $"a string of 1 to {NewJob.MaxQueueLength} characters",
        "args" => "a JSON object",
        "priority" => $"an integer from 0 (runs first) to {NewJob.MaxPriority} (runs last)",
        "maxAttempts" => $"an integer from 1 to {NewJob.MaxMaxAttempts}",
        _ => "an ISO 8601 date and time with offset, such as 2030-01-01T00:00:00Z",
    };

    private static bool TryString(JsonElement value, bool required, out string? text)
    {
        text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return text is not null || (!required && value.ValueKind == JsonValueKind.Null);
    }

    private static bool TryObject(JsonElement value, out string json)
    {
        json = value.ValueKind == JsonValueKind.Object ? value.GetRawText() : "";
        return json.Length > 0;
    }

    private delegate bool TryRead<T>(JsonElement value, out T result);

    // An optional field: null or absent keeps the default; otherwise it must be of the JSON kind
    // expected and read without loss (no fraction, no overflow, a real date).
    private static bool TryOptional<T>(JsonElement value, JsonValueKind kind, TryRead<T> read, out T? result)
        where T : struct
    {
        result = null;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind == kind && read(value, out var parsed))
        {
            result = parsed;
            return true;
        }

        return false;
    }

    private static (NewJob?, ProblemHttpResult?) Fail(string field, string expected, string? detail = null) =>
        (null, ApiProblem.BadField(field, expected, detail));
}
