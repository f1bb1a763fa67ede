using JobEngine.Running;

namespace JobEngine.Tests;

/// <summary>The reconnect and rewrite backoff the notifier, the completer and the worker's registration share.</summary>
public sealed class RetryBackoffTests
{
    [Fact]
    public void The_delay_starts_at_100_ms_and_doubles_up_to_5_s()
    {
        var backoff = new RetryBackoff();

        var delays = Enumerable.Range(0, 9).Select(_ => backoff.Next().TotalMilliseconds).ToList();

        Assert.Equal([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000], delays);
    }

    [Fact]
    public void After_a_reset_the_next_delay_is_100_ms_again()
    {
        var backoff = new RetryBackoff();
        backoff.Next();
        backoff.Next();
        backoff.Next();

        backoff.Reset();

        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Next());
        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.Next());
    }
}
