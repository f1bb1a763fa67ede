using JobEngine.Running;

namespace JobEngine.Tests;

/// <summary>When a producer claims at once and when it waits for a pending outcome write to free more slots.</summary>
public sealed class ClaimSizeTests
{
    [Theory]
    [InlineData(0, 1000, 0)]
    [InlineData(0, 1000, 700)]
    [InlineData(1, 1000, 1)]
    [InlineData(499, 1000, 300)]
    public void A_producer_waits_with_no_slot_free_or_with_under_half_a_claim_free_while_a_write_will_free_more(int free, int fullClaim, int awaitingWrite)
    {
        Assert.True(JobProducer.WaitsBeforeClaiming(free, fullClaim, awaitingWrite));
    }

    [Theory]
    [InlineData(1, 1000, 0)]
    [InlineData(499, 1000, 0)]
    [InlineData(500, 1000, 300)]
    [InlineData(1000, 1000, 0)]
    [InlineData(1, 1, 0)]
    public void A_producer_claims_at_once_with_half_a_claim_free_or_when_every_other_run_is_still_in_its_handler(int free, int fullClaim, int awaitingWrite)
    {
        Assert.False(JobProducer.WaitsBeforeClaiming(free, fullClaim, awaitingWrite));
    }
}
