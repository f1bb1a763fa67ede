namespace Driver;

/// <summary>One validated metric record of one adapter process.</summary>
internal sealed record Sample(int Instance, DateTimeOffset T, string Metric, double Value);

/// <summary>Why it exists: the samples of every replica of one system, appended from their stdout pumps and read once the phases are over.</summary>
internal sealed class SampleStore
{
    private readonly List<Sample> _samples = [];
    private readonly List<string> _violations = [];
    private readonly Lock _gate = new();

    public void Add(Sample sample)
    {
        lock (_gate)
        {
            _samples.Add(sample);
        }
    }

    public void Violation(string message)
    {
        lock (_gate)
        {
            _violations.Add(message);
        }

        Console.Error.WriteLine($"[portable] protocol violation: {message}");
    }

    public IReadOnlyList<Sample> Samples()
    {
        lock (_gate)
        {
            return [.. _samples];
        }
    }

    public IReadOnlyList<string> Violations()
    {
        lock (_gate)
        {
            return [.. _violations];
        }
    }
}
