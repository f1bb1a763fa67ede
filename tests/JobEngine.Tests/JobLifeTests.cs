using JobEngine.Running;
using JobEngine.Sql;

namespace JobEngine.Tests;

/// <summary>The state machine of <see cref="JobLife"/> and the retry decision, without a database.</summary>
public sealed class JobLifeTests
{
    [Fact]
    public void Every_transition_names_a_statement_of_job_sql_and_every_state_is_reached()
    {
        Assert.All(JobLife.Transitions, t => Assert.NotNull(typeof(JobSql).GetField(t.Statement)));
        Assert.All(JobState.Lifecycle, s => Assert.Contains(JobLife.Transitions, t => t.To == s));
        Assert.All(JobLife.Transitions, t => Assert.Contains(t.To, JobState.Lifecycle));
    }

    [Fact]
    public void A_finished_job_comes_back_only_by_an_operators_retry_and_a_completed_one_never()
    {
        var fromFinished = JobLife.Transitions.Where(t => t.From is { } from && JobState.IsFinalized(from)).ToList();

        // A retried job is available again; the dependents its failure cancelled wait for it again (pending).
        Assert.All(fromFinished, t => Assert.Equal((JobActor.Operator, "RetryJob"), (t.By, t.Statement)));
        Assert.All(fromFinished, t => Assert.Contains(t.To, new[] { JobState.Available, JobState.Pending }));
        Assert.DoesNotContain(fromFinished, t => t.To == JobState.Pending && t.From != JobState.Cancelled);
        Assert.DoesNotContain(fromFinished, t => t.From == JobState.Completed);
        Assert.True(JobLife.Allows(JobState.Running, JobState.Retryable, JobActor.Rescuer));
        Assert.False(JobLife.Allows(JobState.Running, JobState.Completed, JobActor.Rescuer));
    }

    [Fact]
    public void Every_outcome_is_tagged_with_its_name_in_lower_case()
    {
        Assert.All(Enum.GetValues<OutcomeKind>(), kind => Assert.Equal(kind.ToString().ToLowerInvariant(), kind.TagValue()));
    }

    [Theory]
    [InlineData(1, 1_000)]
    [InlineData(2, 2_000)]
    [InlineData(5, 16_000)]
    [InlineData(0, 1_000)]
    [InlineData(13, 3_600_000)]
    [InlineData(1_000, 3_600_000)]
    public void Without_jitter_the_delay_doubles_from_the_base_up_to_the_cap(int failedAttempt, double expectedMs)
    {
        var policy = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromHours(1), Jitter = 0 };

        Assert.Equal(expectedMs, policy.DelayAfter(failedAttempt).TotalMilliseconds);
    }

    [Fact]
    public void Jitter_spreads_each_delay_within_its_fraction()
    {
        var policy = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(10), Jitter = 0.2 };

        var delays = Enumerable.Range(0, 1000).Select(_ => policy.DelayAfter(1).TotalMilliseconds).ToList();

        Assert.All(delays, d => Assert.InRange(d, 8_000, 12_000));
        Assert.True(delays.Distinct().Count() > 100, "jitter varies the delays");
    }

    [Fact]
    public void The_rescuer_gets_the_same_delays_by_attempt_the_last_standing_for_every_later_one()
    {
        var policy = new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromMinutes(10), Jitter = 0 };

        var delays = policy.DelaysByAttempt();

        Assert.Equal([500L, 1_000L, 2_000L, 4_000L], delays[..4]);
        Assert.Equal(600_000L, delays[^1]);
        Assert.Equal(delays.Length, delays.Distinct().Count() + delays.Count(d => d == 600_000L) - 1);
    }
}
