using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Tests.Unit;

public sealed class DurationsTests
{
    [Theory]
    [InlineData(12 * 24 * 3600, "12 days")]
    [InlineData(24 * 3600, "1 day")]
    [InlineData(6 * 3600, "6 hours")]
    // The Demo environment's 12 days of valør: two minutes, not "0 days".
    [InlineData(120, "2 minutes")]
    [InlineData(90, "90 seconds")]
    [InlineData(1.5, "1.5 seconds")]
    [InlineData(0, "0 seconds")]
    public void A_configured_duration_reads_in_the_largest_whole_unit(double seconds, string expected)
    {
        Assert.Equal(expected, Durations.Describe(TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void A_batchs_valoer_error_states_the_limit_as_configured()
    {
        var now = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
        var options = new BatchOptions("Brev", ValoerDate: now.AddMinutes(3));

        var error = Assert.Single(BatchRules.Validate(options, now, TimeSpan.FromMinutes(2)), e => e.Field == "options.valoerDate");

        Assert.Contains("more than 2 minutes after the batch is sent", error.Reason);
    }
}
