namespace Tempus.Protocol.Tests;

public class NtpPacketHeaderTests
{
    private static NtpPacketHeader Sample() => new()
    {
        Leap = LeapIndicator.DeleteSecond,
        Version = 4,
        Mode = NtpMode.Server,
        Stratum = 3,
        Poll = 10,
        Precision = -23,
        RootDelay = new NtpShortFormat(0x00012345),
        RootDispersion = new NtpShortFormat(0x00006789),
        ReferenceId = 0xC0A80001,
        ReferenceTimestamp = new NtpTimestamp(0x11111111, 0x22222222),
        OriginTimestamp = new NtpTimestamp(0x33333333, 0x44444444),
        ReceiveTimestamp = new NtpTimestamp(0x55555555, 0x66666666),
        TransmitTimestamp = new NtpTimestamp(0x77777777, 0x88888888),
    };

    [Fact]
    public void EveryFieldLandsAtItsRfc5905Offset()
    {
        var bytes = new byte[NtpPacketHeader.Size];
        Assert.True(Sample().TryWrite(bytes, out int written));
        Assert.Equal(48, written);
        // RFC 5905 §7.3 Figure 8: LI=2, VN=4, Mode=4 -> 10 100 100.
        Assert.Equal(
            "A4030AE9" + "00012345" + "00006789" + "C0A80001"
            + "1111111122222222" + "3333333344444444" + "5555555566666666" + "7777777788888888",
            Convert.ToHexString(bytes));
    }

    [Fact]
    public void EveryFieldSurvivesAWriteReadRoundTrip()
    {
        var bytes = new byte[NtpPacketHeader.Size];
        NtpPacketHeader original = Sample();
        Assert.True(original.TryWrite(bytes, out _));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(bytes, out NtpPacketHeader read));
        Assert.Equal(original.Leap, read.Leap);
        Assert.Equal(original.Version, read.Version);
        Assert.Equal(original.Mode, read.Mode);
        Assert.Equal(original.Stratum, read.Stratum);
        Assert.Equal(original.Poll, read.Poll);
        Assert.Equal(original.Precision, read.Precision);
        Assert.Equal(original.RootDelay, read.RootDelay);
        Assert.Equal(original.RootDispersion, read.RootDispersion);
        Assert.Equal(original.ReferenceId, read.ReferenceId);
        Assert.Equal(original.ReferenceTimestamp, read.ReferenceTimestamp);
        Assert.Equal(original.OriginTimestamp, read.OriginTimestamp);
        Assert.Equal(original.ReceiveTimestamp, read.ReceiveTimestamp);
        Assert.Equal(original.TransmitTimestamp, read.TransmitTimestamp);
    }

    [Fact]
    public void WritingIntoATooSmallBufferFailsWithoutWriting()
    {
        var bytes = new byte[47];
        Assert.False(Sample().TryWrite(bytes, out int written));
        Assert.Equal(0, written);
        Assert.All(bytes, b => Assert.Equal(0, b));
    }

    [Fact]
    public void ARealNtpdRsServerResponseHeaderParses()
    {
        // ntpd-rs ntp-proto packet tests: a captured NTS server response (RFC 8915 §5), and the client request it answers.
        var packets = Packets.NtsVectors().ToDictionary(v => v.Name, v => v.Datagram);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(packets["ntpd-rs server"], out NtpPacketHeader server));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(packets["ntpd-rs client"], out NtpPacketHeader client));

        Assert.Equal(LeapIndicator.NoWarning, server.Leap);
        Assert.Equal(4, server.Version);
        Assert.Equal(NtpMode.Server, server.Mode);
        Assert.Equal(1, server.Stratum);
        Assert.Equal(4, server.Poll);
        Assert.Equal(-24, server.Precision);
        Assert.Equal(0u, server.RootDelay.Value);
        Assert.Equal(0x60u, server.RootDispersion.Value);
        Assert.Equal("TMNL", ReferenceId.Format(server.ReferenceId, server.Stratum));
        Assert.Equal(new NtpTimestamp(0xE8494892, 0xF929579E), server.ReferenceTimestamp);
        Assert.Equal(new NtpTimestamp(0xE84948B2, 0xB640D701), server.ReceiveTimestamp);
        Assert.Equal(new NtpTimestamp(0xE84948B2, 0xB644BFF8), server.TransmitTimestamp);
        Assert.False(server.IsKissOfDeath);

        Assert.Equal(NtpMode.Client, client.Mode);
        Assert.Equal(4, client.Version);
        // RFC 5905 §8: the server echoes the client's transmit timestamp as its origin timestamp.
        Assert.Equal(client.TransmitTimestamp, server.OriginTimestamp);
        Assert.False(client.IsKissOfDeath);
    }

    [Fact]
    public void TheSelfGeneratedAead15ResponseHeaderParsesAndReencodesIdentically()
    {
        byte[] response = Packets.NtsVectors().Single(v => v.Name == "AEAD 15 response").Datagram;
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(response, out NtpPacketHeader header));
        Assert.Equal(2, header.Stratum);
        Assert.Equal(6, header.Poll);
        Assert.Equal(-23, header.Precision);
        Assert.Equal("127.0.0.1", ReferenceId.Format(header.ReferenceId, header.Stratum));
        Assert.Equal(new NtpTimestamp(0xE8F1C0A2, 0x80000000), header.OriginTimestamp);

        var rewritten = new byte[NtpPacketHeader.Size];
        Assert.True(header.TryWrite(rewritten, out _));
        Assert.Equal(response.AsSpan(0, NtpPacketHeader.Size).ToArray(), rewritten);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Versions1To4AreAccepted(byte version)
    {
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(Packets.Header(version), out NtpPacketHeader header));
        Assert.Equal(version, header.Version);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void Versions0And5To7AreRejected(byte version)
    {
        Assert.Equal(NtpParseStatus.UnsupportedVersion, NtpPacketHeader.TryRead(Packets.Header(version), out NtpPacketHeader header));
        Assert.Equal(default(NtpPacketHeader).Version, header.Version);
    }

    [Fact]
    public void Mode0IsAcceptedOnlyInNtpv1WhichHadNoModeField()
    {
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(Packets.Header(1, NtpMode.Reserved), out _));
        Assert.Equal(NtpParseStatus.InvalidMode, NtpPacketHeader.TryRead(Packets.Header(2, NtpMode.Reserved), out _));
        Assert.Equal(NtpParseStatus.InvalidMode, NtpPacketHeader.TryRead(Packets.Header(3, NtpMode.Reserved), out _));
        Assert.Equal(NtpParseStatus.InvalidMode, NtpPacketHeader.TryRead(Packets.Header(4, NtpMode.Reserved), out _));
    }

    [Theory]
    [InlineData(NtpMode.Control)]
    [InlineData(NtpMode.Private)]
    public void ControlAndPrivateModesAreNotTimePackets(NtpMode mode)
    {
        Assert.Equal(NtpParseStatus.UnsupportedMode, NtpPacketHeader.TryRead(Packets.Header(4, mode), out _));
    }

    [Fact]
    public void ADatagramShorterThanTheHeaderIsTooShort()
    {
        byte[] header = Packets.Header();
        for (int length = 0; length < NtpPacketHeader.Size; length++)
        {
            Assert.Equal(NtpParseStatus.TooShort, NtpPacketHeader.TryRead(header.AsSpan(0, length), out _));
        }
    }

    [Theory]
    [InlineData(NtpMode.Server, true)]
    [InlineData(NtpMode.SymmetricActive, true)]
    [InlineData(NtpMode.SymmetricPassive, true)]
    [InlineData(NtpMode.Broadcast, true)]
    [InlineData(NtpMode.Client, false)]
    public void Stratum0IsAKissOfDeathOnlyFromAServerOrPeer(NtpMode mode, bool expected)
    {
        var header = new NtpPacketHeader { Version = 4, Mode = mode, Stratum = 0, ReferenceId = KissCode.Rate };
        Assert.Equal(expected, header.IsKissOfDeath);
        header.Stratum = 1;
        Assert.False(header.IsKissOfDeath);
    }

    [Theory]
    [InlineData(0, "unspecified or invalid (kiss-o'-death in a server packet)")]
    [InlineData(1, "primary server (synchronized to a reference clock)")]
    [InlineData(2, "secondary server (synchronized over NTP)")]
    [InlineData(15, "secondary server (synchronized over NTP)")]
    [InlineData(16, "unsynchronized")]
    [InlineData(17, "reserved")]
    [InlineData(255, "reserved")]
    public void StratumMeaningsFollowRfc5905Figure11(byte stratum, string meaning)
    {
        Assert.Equal(meaning, NtpPacketHeader.StratumMeaning(stratum));
    }

    [Fact]
    public void BitFieldSettersRejectValuesThatDoNotFit()
    {
        var header = default(NtpPacketHeader);
        Assert.Throws<ArgumentOutOfRangeException>(() => header.Version = 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => header.Mode = (NtpMode)8);
        Assert.Throws<ArgumentOutOfRangeException>(() => header.Leap = (LeapIndicator)4);
    }

    [Fact]
    public void TheThrowingReadNamesTheCause()
    {
        var exception = Assert.Throws<NtpFormatException>(() => NtpPacketHeader.Read(Packets.Header(5)));
        Assert.Equal(NtpParseStatus.UnsupportedVersion, exception.Status);
        Assert.Equal(0, exception.Offset);
        Assert.Equal("NTP header at offset 0: version 5 is not supported (NTP versions 1 to 4 are)", exception.Message);
    }
}
