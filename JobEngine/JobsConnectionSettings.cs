using Npgsql;

namespace JobEngine;

/// <summary>
/// Why it exists: a claim is three statements and a finish two or three, sent hundreds of times a
/// second; parsing each anew cost a claim round trip 0.5 ms of its 2.2 (the median at 1,000 jobs/s),
/// and Npgsql's reset of a connection returned to its pool (DISCARD ALL) dropped every plan the
/// count triggers had cached. The Worker and the Api tune their data sources with this.
/// </summary>
public static class JobsConnectionSettings
{
    /// <summary>Statements each connection keeps prepared when the connection string names no number.</summary>
    public const int DefaultMaxAutoPrepare = 32;

    /// <summary>
    /// Prepares the statements a connection sends often (<c>Max Auto Prepare</c>, unless set), keeps
    /// them over the pool's reset (<c>No Reset On Close</c>: the engine leaves no session state, only
    /// transaction-local settings and locks), and has PostgreSQL plan every execution with its
    /// values (<c>plan_cache_mode=force_custom_plan</c>), as unprepared statements were: the engine's
    /// queries are written for plans made with their parameters (a claim's LIMIT, a listing's
    /// filters), which a generic plan would not see. A claim's round trip is the exception: it keeps
    /// one plan per connection (ConfigureClaimTransaction in job.sql). A pooler in transaction
    /// mode needs to support prepared statements (PgBouncer 1.21 or later with max_prepared_statements).
    /// </summary>
    public static void ApplyTo(NpgsqlConnectionStringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        builder.NoResetOnClose = true;
        const string customPlans = "-c plan_cache_mode=force_custom_plan";
        builder.Options = string.IsNullOrEmpty(builder.Options) ? customPlans : $"{builder.Options} {customPlans}";
    }
}
