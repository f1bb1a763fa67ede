using System.Text.Json;

namespace JobEngine;

/// <summary>A job to enqueue. Defaults: queue <c>default</c>, priority 5, 25 attempts, run now.</summary>
/// <param name="Kind">Which handler runs it (1 to 128 characters).</param>
/// <param name="ArgsJson">Its arguments as a JSON object.</param>
public sealed record NewJob(string Kind, string ArgsJson = "{}")
{
    /// <summary>The queue used when none is given.</summary>
    public const string DefaultQueue = "default";
    /// <summary>The priority used when none is given.</summary>
    public const short DefaultPriority = 5;
    /// <summary>The attempt count used when none is given.</summary>
    public const short DefaultMaxAttempts = 25;
    /// <summary>Highest allowed priority value (runs last).</summary>
    public const short MaxPriority = 9;
    /// <summary>Most attempts a job may have.</summary>
    public const short MaxMaxAttempts = 1000;
    /// <summary>Longest kind, in characters (the schema's job_kind_length check).</summary>
    public const int MaxKindLength = 128;
    /// <summary>Longest queue name, in characters (the schema's job_queue_length check).</summary>
    public const int MaxQueueLength = 64;
    /// <summary>Longest idempotency key as stored, in characters (the schema's job_idempotency_key_length check).</summary>
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>The queue it runs in (1 to 64 characters).</summary>
    public string Queue { get; init; } = DefaultQueue;
    /// <summary>0 runs first, 9 last.</summary>
    public short Priority { get; init; } = DefaultPriority;
    /// <summary>Attempts allowed before it is discarded, 1 to 1000.</summary>
    public short MaxAttempts { get; init; } = DefaultMaxAttempts;
    /// <summary>When it may run; null or past means now, future makes it <c>scheduled</c>.</summary>
    public DateTimeOffset? RunAt { get; init; }
    /// <summary>While a live job holds this key, enqueueing it again returns that job.</summary>
    public string? IdempotencyKey { get; init; }
    /// <summary>Who enqueues it (the Api writes its API key's name), stored with the job; at most 200 characters.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>A job whose arguments are <paramref name="args"/> serialized with web defaults.</summary>
    public static NewJob Create<TArgs>(string kind, TArgs args) =>
        new(kind, JsonSerializer.Serialize(args, JsonSerializerOptions.Web));

    /// <summary>What is wrong with this job, field by field; empty when it can be enqueued.</summary>
    public IReadOnlyList<JobFieldError> Validate()
    {
        var errors = new List<JobFieldError>();
        if (!IsValidKind(Kind))
        {
            errors.Add(new("kind", $"a non-empty name of at most {MaxKindLength} characters without control characters"));
        }

        if (!IsValidQueue(Queue))
        {
            errors.Add(new("queue", $"a non-empty name of at most {MaxQueueLength} characters without control characters"));
        }

        if (Priority is < 0 or > MaxPriority)
        {
            errors.Add(new("priority", $"an integer from 0 (runs first) to {MaxPriority} (runs last)"));
        }

        if (MaxAttempts is < 1 or > MaxMaxAttempts)
        {
            errors.Add(new("maxAttempts", $"an integer from 1 to {MaxMaxAttempts}"));
        }

        if (IdempotencyKey is { } key && !IsName(key, MaxIdempotencyKeyLength))
        {
            errors.Add(new("idempotencyKey", $"1 to {MaxIdempotencyKeyLength} characters without control characters"));
        }

        if (CreatedBy is { Length: 0 or > 200 })
        {
            errors.Add(new("createdBy", "1 to 200 characters"));
        }

        if (!IsJsonObject(ArgsJson))
        {
            errors.Add(new("args", "a JSON object"));
        }

        return errors;
    }

    /// <summary>Whether <paramref name="kind"/> is a kind a job may have (also what a listing may filter on).</summary>
    public static bool IsValidKind(string? kind) => IsName(kind, MaxKindLength) && !string.IsNullOrWhiteSpace(kind);

    /// <summary>Whether <paramref name="queue"/> is a queue a job may run in (also what a listing may filter on).</summary>
    public static bool IsValidQueue(string? queue) => IsName(queue, MaxQueueLength) && !string.IsNullOrWhiteSpace(queue);

    private static bool IsName(string? text, int maxLength) =>
        text is { Length: > 0 } && text.Length <= maxLength && !text.Any(char.IsControl);

    private static bool IsJsonObject(string json)
    {
        // PostgreSQL's jsonb cannot store the NUL character, so it is refused here, not there.
        if (json.Contains("\\u0000", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>One invalid field of a job: its name and what was expected instead.</summary>
/// <param name="Field">The field, as the API names it.</param>
/// <param name="Expected">What a valid value looks like.</param>
public sealed record JobFieldError(string Field, string Expected);
