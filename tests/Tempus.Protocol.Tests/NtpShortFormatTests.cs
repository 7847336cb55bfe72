namespace Tempus.Protocol.Tests;

public class NtpShortFormatTests
{
    [Fact]
    public void SecondsConvertExactlyWhenRepresentable()
    {
        Assert.Equal(0x00018000u, NtpShortFormat.FromSeconds(1.5).Value);
        Assert.Equal(1.5, new NtpShortFormat(0x00018000).ToSeconds());
    }

    [Fact]
    public void ConversionsRoundUpSoDistancesAreNeverUnderstated()
    {
        Assert.Equal(1u, NtpShortFormat.FromSeconds(1e-9).Value);
        Assert.Equal(1u, NtpShortFormat.FromFixed(1).Value);
        Assert.Equal(1u, NtpShortFormat.FromFixed(0x10000).Value);
        Assert.Equal(2u, NtpShortFormat.FromFixed(0x10001).Value);
    }

    [Fact]
    public void ConversionsSaturate()
    {
        Assert.Equal(0u, NtpShortFormat.FromSeconds(-3).Value);
        Assert.Equal(0u, NtpShortFormat.FromSeconds(0).Value);
        Assert.Equal(uint.MaxValue, NtpShortFormat.FromSeconds(70000).Value);
        Assert.Equal(uint.MaxValue, NtpShortFormat.FromSeconds(double.PositiveInfinity).Value);
        Assert.Equal(uint.MaxValue, NtpShortFormat.FromSeconds(double.NaN).Value);
        Assert.Equal(0u, NtpShortFormat.FromFixed(-1).Value);
        Assert.Equal(0u, NtpShortFormat.FromFixed(long.MinValue).Value);
        Assert.Equal(uint.MaxValue, NtpShortFormat.FromFixed(long.MaxValue).Value);
        Assert.Equal(NtpShortFormat.MaxValue, NtpShortFormat.FromFixed(0x1_0000_0000_0000L));
    }

    [Fact]
    public void ToFixedIsExactAndRoundTrips()
    {
        var value = new NtpShortFormat(0x00123456);
        Assert.Equal(0x1234_5600_00L, value.ToFixed());
        Assert.Equal(value, NtpShortFormat.FromFixed(value.ToFixed()));
        Assert.Equal(NtpTimestamp.FixedToSeconds(value.ToFixed()), value.ToSeconds());
    }

    [Fact]
    public void ToStringShowsSeconds()
    {
        Assert.Equal("0.015625 s", new NtpShortFormat(0x400).ToString());
        Assert.Equal("2.0 s", new NtpShortFormat(0x20000).ToString());
    }
}
