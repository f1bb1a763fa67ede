using JobEngine.Queues;

namespace JobEngine.Tests;

/// <summary>A paused queue waits in every Worker at once, and nothing sent to it is lost.</summary>
public sealed class QueuePauseTests : IClassFixture<TestDatabase>
{
    private const string Paused = "pause-held";
    private const string Flowing = "pause-flowing";
    private readonly TestDatabase _db;

    public QueuePauseTests(TestDatabase db) => _db = db;

    [Fact]
    public async Task A_paused_queue_is_claimed_by_no_worker_while_others_flow_and_drains_once_resumed()
    {
        var pauses = new QueuePauses(_db.App);
        Assert.True(await pauses.PauseAsync(Paused, "test"));
        Assert.False(await pauses.PauseAsync(Paused, "test"));
        var settings = new Dictionary<string, string?> { [$"Queues:{Paused}"] = "4", [$"Queues:{Flowing}"] = "4" };
        await using var first = await TestWorker.StartAsync(_db, settings);
        await using var second = await TestWorker.StartAsync(_db, settings);
        var client = new JobClient(_db.App);
        await client.EnqueueManyAsync([.. Enumerable.Range(0, 40).Select(i => new NewJob("noop") with { Queue = i % 2 == 0 ? Paused : Flowing })]);

        await _db.WaitForCountAsync(Flowing, JobState.Completed, 20);
        Assert.Equal(20L, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE queue = $1 AND state = 'available' AND attempt = 0", Paused));
        Assert.Equal(Paused, Assert.Single(await pauses.ListAsync()).Queue);

        Assert.True(await pauses.ResumeAsync(Paused));
        Assert.False(await pauses.ResumeAsync(Paused));
        await _db.WaitForCountAsync(Paused, JobState.Completed, 20, TimeSpan.FromSeconds(30));
        Assert.Empty(await pauses.ListAsync());
    }

    [Fact]
    public async Task A_queue_name_out_of_bounds_is_refused_before_the_database()
    {
        var pauses = new QueuePauses(_db.App);
        await Assert.ThrowsAsync<ArgumentException>(() => pauses.PauseAsync(new string('q', NewJob.MaxQueueLength + 1), null));
        await Assert.ThrowsAsync<ArgumentException>(() => pauses.ResumeAsync(""));
    }
}
