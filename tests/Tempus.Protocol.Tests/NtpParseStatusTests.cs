namespace Tempus.Protocol.Tests;

public class NtpParseStatusTests
{
    [Fact]
    public void EveryStatusHasAPlaceAndACauseWithOrWithoutTheDatagram()
    {
        foreach (NtpParseStatus status in Enum.GetValues<NtpParseStatus>())
        {
            string bare = status.Describe(48);
            string detailed = status.Describe(48, new byte[100]);
            Assert.DoesNotContain("unknown parse status", bare);
            Assert.DoesNotContain("unknown parse status", detailed);
            if (status != NtpParseStatus.Ok)
            {
                Assert.Contains("offset 48: ", bare);
                Assert.Contains("offset 48: ", detailed);
            }
        }
    }

    [Fact]
    public void TheBriefDescriptionNamesTheRuleWithoutTheValue()
    {
        Assert.Equal(
            "extension field at offset 48: length is below the RFC 7822 minimum of 16",
            NtpParseStatus.InvalidExtensionFieldLength.Describe(48));
    }

    [Fact]
    public void DescriptionsQuoteTheOffendingValues()
    {
        Assert.Equal(
            "NTP header at offset 0: the datagram of 30 bytes is shorter than the 48-byte header",
            NtpParseStatus.TooShort.Describe(0, new byte[30]));
        Assert.Equal(
            "MAC at offset 48: 12 trailing bytes are neither a MAC of 4, 20 or 24 bytes (RFC 5905 §7.3) nor an extension field (RFC 7822 §3)",
            NtpParseStatus.InvalidMacLength.Describe(48, new byte[60]));
        Assert.Equal(
            "NTP header at offset 0: mode 6 is an ntpq/ntpdc control message, not an NTP time packet",
            NtpParseStatus.UnsupportedMode.Describe(0, Packets.Header(2, NtpMode.Control)));
    }

    [Fact]
    public void DescribeNeverThrowsForOffsetsOutsideTheDatagram()
    {
        foreach (NtpParseStatus status in Enum.GetValues<NtpParseStatus>())
        {
            foreach (int offset in new[] { -1, 0, 47, 48, 99, 100, 101, int.MaxValue - 2 })
            {
                Assert.NotEmpty(status.Describe(offset, new byte[100]));
            }
        }
    }
}
