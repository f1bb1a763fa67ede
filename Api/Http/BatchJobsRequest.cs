using System.Text.Json;
using Api.Jobs;
using JobEngine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Http;

/// <summary>
/// The body of <c>POST /batches/{id}/jobs</c>, as the OpenAPI document shows it; read by
/// <see cref="Parse"/>, each job by <see cref="EnqueueRequest.Parse"/> (a 400 names <c>jobs[3].kind</c>).
/// </summary>
/// <param name="Jobs">1 to 20,000 jobs, each with the fields of POST /jobs (but idempotencyKey).</param>
public sealed record BatchJobsRequest(EnqueueRequest[] Jobs)
{
    /// <summary>Reads <c>{"jobs": [...]}</c> from <paramref name="root"/>.</summary>
    public static (List<NewJob>? Jobs, ProblemHttpResult? Problem) Parse(JsonElement root, IdempotencyKey noKey)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Fail("body", "a JSON object with 'jobs'");
        }

        JsonElement? jobs = null;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "jobs" when jobs is null:
                    jobs = property.Value;
                    break;
                case "jobs":
                    return Fail("jobs", "each field at most once");
                default:
                    return Fail(property.Name, "no such field; the only field is jobs");
            }
        }

        return jobs is { } value
            ? ParseJobs(value, noKey, minimum: 1)
            : Fail("jobs", $"an array of 1 to {NewBatch.MaxJobs} jobs", "'jobs' is required.");
    }

    /// <summary>Reads an array of <paramref name="minimum"/> to <see cref="NewBatch.MaxJobs"/> jobs, each as POST /jobs reads one.</summary>
    public static (List<NewJob>? Jobs, ProblemHttpResult? Problem) ParseJobs(JsonElement value, IdempotencyKey noKey, int minimum)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() < minimum || value.GetArrayLength() > NewBatch.MaxJobs)
        {
            return Fail("jobs", $"an array of {minimum} to {NewBatch.MaxJobs} jobs");
        }

        var jobs = new List<NewJob>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            var (job, problem) = EnqueueRequest.Parse(item, $"jobs[{jobs.Count}].", noKey);
            if (problem is not null)
            {
                return (null, problem);
            }

            jobs.Add(job!);
        }

        return (jobs, null);
    }

    private static (List<NewJob>?, ProblemHttpResult?) Fail(string field, string expected, string? detail = null) =>
        (null, ApiProblem.BadField(field, expected, detail));
}
