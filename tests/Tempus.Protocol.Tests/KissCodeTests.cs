namespace Tempus.Protocol.Tests;

public class KissCodeTests
{
    // RFC 5905 §7.4 Figure 13, plus NTSN from RFC 8915 §5.7.
    public static TheoryData<uint, string> Codes() => new()
    {
        { KissCode.Acst, "ACST" }, { KissCode.Auth, "AUTH" }, { KissCode.Auto, "AUTO" }, { KissCode.Bcst, "BCST" },
        { KissCode.Cryp, "CRYP" }, { KissCode.Deny, "DENY" }, { KissCode.Drop, "DROP" }, { KissCode.Rstr, "RSTR" },
        { KissCode.Init, "INIT" }, { KissCode.Mcst, "MCST" }, { KissCode.Nkey, "NKEY" }, { KissCode.Rate, "RATE" },
        { KissCode.Rmot, "RMOT" }, { KissCode.Step, "STEP" }, { KissCode.Ntsn, "NTSN" },
    };

    [Theory]
    [MemberData(nameof(Codes))]
    public void EveryKissCodeIsItsFourAsciiCharacters(uint code, string text)
    {
        Assert.Equal(ReferenceId.FromAscii(text), code);
        Assert.Equal(text, KissCode.Format(code));
        Assert.True(KissCode.IsKnown(code));
        Assert.DoesNotContain("unknown", KissCode.Describe(code));
    }

    [Fact]
    public void RateIsTheExampleValue()
    {
        Assert.Equal(0x52415445u, KissCode.Rate);
    }

    [Fact]
    public void DescriptionsSayWhatToDo()
    {
        Assert.Equal("rate exceeded: the server asks the client to reduce its poll rate", KissCode.Describe(KissCode.Rate));
        Assert.StartsWith("access denied", KissCode.Describe(KissCode.Deny));
        Assert.StartsWith("access restricted", KissCode.Describe(KissCode.Rstr));
        Assert.Equal("NTS cookie invalid: run NTS-KE again", KissCode.Describe(KissCode.Ntsn));
    }

    [Fact]
    public void UnknownCodesAreNamedAsUnknown()
    {
        uint code = ReferenceId.FromAscii("XFOO");
        Assert.False(KissCode.IsKnown(code));
        Assert.Equal("unknown kiss code \"XFOO\"", KissCode.Describe(code));
    }

    [Fact]
    public void FormattingTrimsTrailingNulsAndMasksNonPrintables()
    {
        Assert.Equal("GPS", KissCode.Format(0x47505300));
        Assert.Equal("", KissCode.Format(0));
        Assert.Equal("GPS?", KissCode.Format(0x47505301));
        Assert.Equal("A?B", KissCode.Format(0x41004200));
        Assert.Equal("??", KissCode.Format(0xFF800000));
    }
}

public class ReferenceIdTests
{
    [Theory]
    [InlineData(0x7F000001u, 2, "127.0.0.1")]
    [InlineData(0xC0A80A01u, 15, "192.168.10.1")]
    [InlineData(0xC0A80A01u, 16, "192.168.10.1")]
    [InlineData(0x47505300u, 1, "GPS")]
    [InlineData(0x4C4F434Cu, 1, "LOCL")]
    [InlineData(0x52415445u, 0, "RATE")]
    public void ReferenceIdsAreAsciiAtStrata0And1AndIPv4Above(uint refId, byte stratum, string expected)
    {
        Assert.Equal(expected, ReferenceId.Format(refId, stratum));
    }

    [Fact]
    public void AsciiIsPaddedWithNuls()
    {
        Assert.Equal(0x47505300u, ReferenceId.FromAscii("GPS"));
        Assert.Equal(0x50505300u, ReferenceId.FromAscii("PPS"));
        Assert.Equal(0u, ReferenceId.FromAscii(""));
    }

    [Fact]
    public void AsciiThatDoesNotFitIsRejected()
    {
        Assert.Throws<ArgumentException>(() => ReferenceId.FromAscii("LOCAL"));
        Assert.Throws<ArgumentException>(() => ReferenceId.FromAscii("GPé"));
        Assert.Throws<ArgumentException>(() => ReferenceId.FromAscii("\0GPS"));
    }

    [Fact]
    public void IPv4AddressesAreInNetworkOrder()
    {
        Assert.Equal(0xC0000201u, ReferenceId.FromIPv4([192, 0, 2, 1]));
        Assert.Throws<ArgumentException>(() => ReferenceId.FromIPv4([1, 2, 3]));
    }
}
