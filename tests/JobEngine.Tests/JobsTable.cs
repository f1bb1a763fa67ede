namespace JobEngine.Tests;

/// <summary>Reads of the job table that tests share.</summary>
public static class JobsTable
{
    public static Task<string> StateAsync(this TestDatabase db, long id) =>
        db.ScalarAsync<string>("SELECT state::text FROM jobs.job WHERE id = $1", id);

    public static Task<long> CountAsync(this TestDatabase db, string queue, string state) =>
        db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE queue = $1 AND state = $2::jobs.job_state", queue, state);

    public static Task<long> WaitForCountAsync(this TestDatabase db, string queue, string state, long expected, TimeSpan? timeout = null) =>
        Eventually.WaitForAsync(() => db.CountAsync(queue, state), n => n == expected, $"{expected} jobs {state} in queue {queue}", timeout);

    public static Task<string> WaitForStateAsync(this TestDatabase db, long id, string state, TimeSpan? timeout = null) =>
        Eventually.WaitForAsync(() => db.StateAsync(id), s => s == state, $"job {id} to be {state}", timeout);
}
