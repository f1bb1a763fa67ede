using System.Text.Json;
using Api.Jobs;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Http;

/// <summary>
/// The body of <c>POST /jobs/retry</c> and <c>POST /jobs/cancel</c>, as the OpenAPI document shows
/// it: the filters of <c>GET /jobs</c>, so the admin page sends the filter it lists. <c>{}</c> takes
/// every job the action may change. Read by <see cref="Parse"/>, which names the field that failed.
/// </summary>
/// <param name="State">Only jobs in this state: for retry discarded or cancelled, for cancel available, scheduled or retryable.</param>
/// <param name="Queue">Only jobs of this queue.</param>
/// <param name="Kind">Only jobs of this kind.</param>
/// <param name="DryRun">True: change nothing and answer how many jobs a real call would change now.</param>
public sealed record BulkRequest(string? State, string? Queue, string? Kind, bool? DryRun)
{
    /// <summary>Reads the filter from <paramref name="body"/>; <paramref name="states"/> are the states the action accepts.</summary>
    public static (BulkFilter? Filter, bool DryRun, ProblemHttpResult? Problem) Parse(JsonElement body, IReadOnlyList<string> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Fail("body", "a JSON object with optional state, queue, kind and dryRun ({} takes every job)");
        }

        string? state = null, queue = null, kind = null;
        var dryRun = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            if (!seen.Add(property.Name))
            {
                return Fail(property.Name, "each field at most once");
            }

            switch (property.Name)
            {
                case "state" when !TryString(value, out state) || (state is not null && !states.Contains(state)):
                    return Fail("state", "one of " + string.Join(", ", states));
                case "queue" when !TryString(value, out queue) || (queue is not null && !NewJob.IsValidQueue(queue)):
                    return Fail("queue", $"a queue name of 1 to {NewJob.MaxQueueLength} characters");
                case "kind" when !TryString(value, out kind) || (kind is not null && !NewJob.IsValidKind(kind)):
                    return Fail("kind", $"a kind of 1 to {NewJob.MaxKindLength} characters");
                case "dryRun" when value.ValueKind is not (JsonValueKind.True or JsonValueKind.False):
                    return Fail("dryRun", "true or false");
                case "dryRun":
                    dryRun = value.GetBoolean();
                    break;
                case "state" or "queue" or "kind":
                    break;
                default:
                    return Fail(property.Name, "no such field; the fields are state, queue, kind and dryRun");
            }
        }

        return (new BulkFilter(state, queue, kind), dryRun, null);
    }

    private static bool TryString(JsonElement value, out string? text)
    {
        text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return text is not null || value.ValueKind == JsonValueKind.Null;
    }

    private static (BulkFilter?, bool, ProblemHttpResult?) Fail(string field, string expected) =>
        (null, false, ApiProblem.BadField(field, expected));
}
