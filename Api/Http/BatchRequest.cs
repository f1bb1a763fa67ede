using System.Text.Json;
using Api.Jobs;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Http;

/// <summary>
/// The body of <c>POST /batches</c>, as the OpenAPI document shows it. Read by <see cref="Parse"/>:
/// the callback and each job are read by <see cref="EnqueueRequest.Parse"/>, so they are checked as
/// POST /jobs checks them, and a wrong field is a 400 naming it (<c>callback.kind</c>, <c>jobs[3].priority</c>).
/// </summary>
/// <param name="Name">An optional name (1 to 200 characters).</param>
/// <param name="Open">True to add jobs later (POST /batches/{id}/jobs) until it is sealed; false (default) seals it at once.</param>
/// <param name="Callback">The job that runs once every job is finalized, with <c>{"batch": {"id", "total", "completed", "discarded", "cancelled"}}</c> merged into its args; no runAt.</param>
/// <param name="Jobs">0 to 20,000 jobs, each with the fields of POST /jobs (but idempotencyKey).</param>
public sealed record BatchRequest(string? Name, bool? Open, EnqueueRequest Callback, EnqueueRequest[]? Jobs)
{
    /// <summary>Reads a batch from <paramref name="root"/>; <paramref name="noKey"/> says no idempotency key is taken.</summary>
    public static (NewBatch? Batch, ProblemHttpResult? Problem) Parse(JsonElement root, IdempotencyKey noKey)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Fail("body", "a JSON object with 'callback' and optionally 'jobs', 'open' and 'name'");
        }

        string? name = null;
        var open = false;
        NewJob? callback = null;
        IReadOnlyList<NewJob> jobs = [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            if (!seen.Add(property.Name))
            {
                return Fail(property.Name, "each field at most once");
            }

            switch (property.Name)
            {
                case "name" when value.ValueKind is JsonValueKind.String or JsonValueKind.Null:
                    name = value.GetString();
                    break;
                case "name":
                    return Fail("name", $"a string of 1 to {NewBatch.MaxNameLength} characters");
                case "open" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    open = value.GetBoolean();
                    break;
                case "open":
                    return Fail("open", "true (it takes jobs until it is sealed) or false (the default: sealed at once)");
                case "callback":
                    {
                        var (job, problem) = EnqueueRequest.Parse(value, "callback.", noKey);
                        if (problem is not null)
                        {
                            return (null, problem);
                        }

                        callback = job;
                        break;
                    }

                case "jobs":
                    {
                        var (parsed, problem) = BatchJobsRequest.ParseJobs(value, noKey, minimum: 0);
                        if (problem is not null)
                        {
                            return (null, problem);
                        }

                        jobs = parsed!;
                        break;
                    }

                default:
                    return Fail(property.Name, "no such field; the fields are name, open, callback and jobs");
            }
        }

        return callback is null
            ? Fail("callback", "a job: a JSON object with at least 'kind'", "'callback' is required.")
            : (new NewBatch(callback, jobs) { Name = name, Open = open }, null);
    }

    private static (NewBatch?, ProblemHttpResult?) Fail(string field, string expected, string? detail = null) =>
        (null, ApiProblem.BadField(field, expected, detail));
}
