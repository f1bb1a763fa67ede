using JobEngine.Running;

namespace JobEngine.Tests;

/// <summary>When a producer claims at once and when it waits for a pending outcome write to free more slots.</summary>
public sealed class ClaimSizeTests
{
    [Theory]
    // Waits: no slot free, or under half a claim free while a write will free more.
    [InlineData(0, 1000, 0, true)]
    [InlineData(0, 1000, 700, true)]
    [InlineData(1, 1000, 1, true)]
    [InlineData(499, 1000, 300, true)]
    // Claims at once: every other run still in its handler, half a claim free, or a one-slot queue.
    [InlineData(1, 1000, 0, false)]
    [InlineData(499, 1000, 0, false)]
    [InlineData(500, 1000, 300, false)]
    [InlineData(1000, 1000, 0, false)]
    [InlineData(1, 1, 0, false)]
    public void A_producer_waits_for_a_pending_write_only_with_under_half_a_claim_free(int free, int fullClaim, int awaitingWrite, bool waits)
    {
        Assert.Equal(waits, JobProducer.WaitsBeforeClaiming(free, fullClaim, awaitingWrite));
    }
}
