namespace Bench;

/// <summary>Why it exists: every wait in the benchmark is a bounded poll of a real condition, never a fixed sleep.</summary>
internal static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken, ChildProcess? watched = null, int intervalMs = 50)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition().ConfigureAwait(false))
        {
            if (watched is { HasExited: true })
            {
                throw new InvalidOperationException($"Waiting for {what}, {watched.Describe()} exited: {string.Join(" | ", watched.Lines.TakeLast(8))}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {timeout} for {what}.");
            }

            await Task.Delay(intervalMs, cancellationToken).ConfigureAwait(false);
        }
    }
}
