using JobEngine;

namespace Api.Jobs;

/// <summary>
/// Enqueues through the engine's <see cref="JobClient"/>, each job carrying the name of the API key
/// that sent it (stored by the same single INSERT, so a producer key reads only its own jobs). All
/// jobs of a request commit together or not at all.
/// </summary>
public sealed class JobIntake(JobClient jobs)
{
    /// <summary>Enqueues <paramref name="newJobs"/> as <paramref name="apiKeyName"/>; one result per job, in order.</summary>
    public Task<IReadOnlyList<EnqueueResult>> EnqueueAsync(IReadOnlyList<NewJob> newJobs, string apiKeyName, CancellationToken cancellationToken) =>
        jobs.EnqueueManyAsync([.. newJobs.Select(j => j with { CreatedBy = apiKeyName })], cancellationToken);
}
