namespace Adapter;

/// <summary>
/// Why it exists: by default the harness paces the producer, writing <c>ENQUEUE n</c> lines to
/// stdin. They are read on a thread of their own as they come, whatever the database does, so the
/// harness never blocks on a full pipe; the jobs they ask for are owed until enqueued.
/// </summary>
internal sealed class HarnessPacer : IProducerPacer
{
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly ILogger<HarnessPacer> _logger;
    private long _owed;

    public HarnessPacer(TextReader stdin, ILogger<HarnessPacer> logger)
    {
        _logger = logger;
        new Thread(() => ReadTokens(stdin)) { IsBackground = true, Name = "stdin ENQUEUE reader" }.Start();
    }

    public async ValueTask<long> OwedAsync(CancellationToken cancellationToken)
    {
        while (Interlocked.Read(ref _owed) <= 0)
        {
            await _arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return Interlocked.Read(ref _owed);
    }

    public void Sent(int count) => Interlocked.Add(ref _owed, -count);

    private void ReadTokens(TextReader stdin)
    {
        while (stdin.ReadLine() is { } line)
        {
            if (line.StartsWith("ENQUEUE ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(8), out var count) && count >= 0)
            {
                Interlocked.Add(ref _owed, count);
                _arrived.Release();
            }
            else if (line.Length > 0)
            {
                _logger.LogWarning("Ignored a stdin line that is not 'ENQUEUE <n>': {Line}", line.Length > 80 ? line[..80] : line);
            }
        }

        _logger.LogInformation("stdin closed: the harness sends no more ENQUEUE lines.");
    }
}
