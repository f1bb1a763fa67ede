namespace Bench;

/// <summary>Why it exists: every wait in the benchmark is a bounded poll of a real condition, never a fixed sleep.</summary>
internal static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken, IReadOnlyList<ChildProcess>? watched = null, int intervalMs = 50)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition().ConfigureAwait(false))
        {
            if (watched?.FirstOrDefault(p => p.HasExited) is { } exited)
            {
                throw new InvalidOperationException($"Waiting for {what}, {exited.Describe()} exited: {string.Join(" | ", exited.Lines.TakeLast(8))}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {timeout} for {what}.");
            }

            await Task.Delay(intervalMs, cancellationToken).ConfigureAwait(false);
        }
    }
}
