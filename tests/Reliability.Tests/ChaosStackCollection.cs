namespace Reliability.Tests;

/// <summary>The tests that bring up, restart and stop the separate chaos stack run one after the other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChaosStackCollection
{
    public const string Name = "chaos stack";
}
