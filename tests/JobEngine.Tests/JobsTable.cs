namespace JobEngine.Tests;

/// <summary>Reads of the job tables (live and history, through the view jobs.job_all) that tests share.</summary>
public static class JobsTable
{
    /// <summary>Rows where the count tables and the job tables disagree, as "queue/state: counted n, actual m"; empty when they agree.</summary>
    public const string CountMismatches = """
        SELECT coalesce(string_agg(queue || '/' || state || ': counted ' || coalesce(c.n, 0) || ', actual ' || coalesce(j.n, 0), '; '), '')
        FROM (SELECT queue, state, sum(n) AS n FROM jobs.job_count GROUP BY 1, 2 HAVING sum(n) <> 0) AS c
        FULL JOIN (SELECT queue, state, count(*) AS n FROM jobs.job_all GROUP BY 1, 2) AS j USING (queue, state)
        WHERE c.n IS DISTINCT FROM j.n
        """;

    public static Task<string> StateAsync(this TestDatabase db, long id) =>
        db.ScalarAsync<string>("SELECT state::text FROM jobs.job_all WHERE id = $1", id);

    public static Task<long> CountAsync(this TestDatabase db, string queue, string state) =>
        db.ScalarAsync<long>("SELECT count(*) FROM jobs.job_all WHERE queue = $1 AND state = $2::jobs.job_state", queue, state);

    /// <summary>
    /// Finalizes live jobs by hand as the engine does: each leaves jobs.job for the history in
    /// <paramref name="state"/>, finalized <paramref name="ago"/> before now.
    /// </summary>
    public static Task FinalizeAsync(this TestDatabase db, long[] ids, string state, TimeSpan ago = default) =>
        db.ExecuteAsync("""
            WITH gone AS (DELETE FROM jobs.job WHERE id = ANY ($1) RETURNING *)
            INSERT INTO jobs.job_history (id, state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                                          attempted_at, finalized_at, attempted_by, errors, idempotency_key, trace_parent, created_by)
            SELECT id, $2::jobs.job_state, queue, kind, args, priority, attempt, max_attempts, run_at, created_at,
                   attempted_at, now() - $3 * interval '1 millisecond', attempted_by, errors, idempotency_key, trace_parent, created_by
            FROM gone
            """, ids, state, ago.TotalMilliseconds);

    public static Task<long> WaitForCountAsync(this TestDatabase db, string queue, string state, long expected, TimeSpan? timeout = null) =>
        Eventually.WaitForAsync(() => db.CountAsync(queue, state), n => n == expected, $"{expected} jobs {state} in queue {queue}", timeout);

    public static Task<string> WaitForStateAsync(this TestDatabase db, long id, string state, TimeSpan? timeout = null) =>
        Eventually.WaitForAsync(() => db.StateAsync(id), s => s == state, $"job {id} to be {state}", timeout);
}
