using Api.Caching;
using JobEngine;
using Microsoft.Extensions.Caching.Hybrid;

namespace Api.Jobs;

/// <summary>
/// Reads one job for <c>GET /jobs/{id}</c> under the <see cref="CacheRules.FinalizedJob"/> rule:
/// a finalized job is stored once read, a live one always comes from the database.
/// </summary>
public sealed class JobReader(JobClient jobs, HybridCache cache, CacheWriter writer)
{
    /// <summary>The job, or null, and what the cache did.</summary>
    public async Task<(JobView? Job, CacheOutcome Outcome)> GetAsync(long id, bool fresh, CancellationToken cancellationToken)
    {
        var key = CacheRules.FinalizedJobKey(id);
        if (!fresh)
        {
            var cached = await cache.GetOrCreateAsync(key, static _ => ValueTask.FromResult<JobView?>(null), CacheRules.ReadOnly, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (cached is not null)
            {
                return (cached, CacheOutcome.Hit);
            }
        }

        var job = await jobs.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            return (null, CacheOutcome.Bypass);
        }

        var view = JobView.From(job, job.CreatedBy);
        if (!JobState.IsFinalized(job.State))
        {
            return (view, CacheOutcome.Bypass);
        }

        await writer.SetAsync(key, view, CacheRules.FinalizedJob, cancellationToken).ConfigureAwait(false);
        return (view, fresh ? CacheOutcome.Bypass : CacheOutcome.Miss);
    }

    /// <summary>Forgets the cached copy of a job that changed (a retried job is live again).</summary>
    public ValueTask InvalidateAsync(long id, CancellationToken cancellationToken) =>
        writer.RemoveAsync(CacheRules.FinalizedJobKey(id), CacheRules.FinalizedJob, cancellationToken);
}
