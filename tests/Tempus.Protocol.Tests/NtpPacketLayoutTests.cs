using System.Buffers.Binary;

namespace Tempus.Protocol.Tests;

public class NtpPacketLayoutTests
{
    private static List<(ushort Type, int Offset, int Length)> Fields(NtpPacketLayout layout)
    {
        var fields = new List<(ushort, int, int)>();
        ExtensionFieldReader reader = layout.GetExtensionFields();
        while (reader.TryReadNext(out ExtensionField field, out NtpParseStatus status))
        {
            Assert.Equal(NtpParseStatus.Ok, status);
            fields.Add((field.Type, field.Offset, field.Length));
        }

        Assert.True(reader.IsAtEnd);
        Assert.Equal(layout.ExtensionFieldCount, reader.Count);
        return fields;
    }

    public static TheoryData<string, ushort[], int[]> NtsVectorShapes() => new()
    {
        // RFC 8915 §5.7: a request carries unique id, cookie, placeholders, then the authenticator;
        // a response carries the unique id and the authenticator with encrypted cookies inside.
        { "ntpd-rs client", [0x0104, 0x0204, 0x0404], [36, 172, 40] },
        { "ntpd-rs server", [0x0104, 0x0404], [36, 212] },
        { "AEAD 15 request", [0x0104, 0x0204, 0x0304, 0x0404], [36, 104, 104, 40] },
        { "AEAD 15 response", [0x0104, 0x0404], [36, 248] },
    };

    [Theory]
    [MemberData(nameof(NtsVectorShapes))]
    public void NtsPacketsSplitIntoTheirExtensionFieldsWithNoMac(string name, ushort[] types, int[] lengths)
    {
        byte[] datagram = Packets.NtsVectors().Single(v => v.Name == name).Datagram;
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout));
        Assert.False(layout.HasMac);
        Assert.Equal(-1, layout.MacOffset);
        Assert.Equal(0, layout.MacLength);
        Assert.Equal(48, layout.ExtensionFieldsOffset);
        Assert.Equal(datagram.Length - 48, layout.ExtensionFieldsLength);
        Assert.Equal(datagram.Length, layout.AuthenticatedData.Length);

        var fields = Fields(layout);
        Assert.Equal(types, fields.Select(f => f.Type));
        Assert.Equal(lengths, fields.Select(f => f.Length));
        int offset = 48;
        foreach (var field in fields)
        {
            Assert.Equal(offset, field.Offset);
            offset += field.Length;
        }
    }

    [Fact]
    public void NtsFieldValuesAreTheBytesAfterTheFieldHeader()
    {
        byte[] request = Packets.NtsVectors().Single(v => v.Name == "AEAD 15 request").Datagram;
        NtpPacketLayout layout = NtpPacketLayout.Parse(request);
        ExtensionFieldReader reader = layout.GetExtensionFields();
        Assert.True(reader.TryReadNext(out ExtensionField uniqueId, out _));
        Assert.Equal(ExtensionFieldType.UniqueIdentifier, uniqueId.Type);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), uniqueId.Value.ToArray());
        Assert.True(reader.TryReadNext(out ExtensionField cookie, out _));
        Assert.Equal(ExtensionFieldType.NtsCookie, cookie.Type);
        Assert.Equal(100, cookie.Value.Length);
        Assert.Equal(0x40, cookie.Value[0]);
        Assert.True(reader.TryReadNext(out ExtensionField placeholder, out _));
        Assert.Equal(ExtensionFieldType.NtsCookiePlaceholder, placeholder.Type);
        Assert.True(reader.TryReadNext(out ExtensionField authenticator, out _));
        Assert.Equal(ExtensionFieldType.NtsAuthenticatorAndEncryptedExtensionFields, authenticator.Type);
        // RFC 8915 §5.6: nonce length 16, ciphertext length 16 (the SIV tag alone: nothing encrypted).
        Assert.Equal(16, BinaryPrimitives.ReadUInt16BigEndian(authenticator.Value));
        Assert.Equal(16, BinaryPrimitives.ReadUInt16BigEndian(authenticator.Value[2..]));
        Assert.False(reader.TryReadNext(out _, out NtpParseStatus status));
        Assert.Equal(NtpParseStatus.Ok, status);
    }

    [Theory]
    [InlineData(16, 7u)]
    [InlineData(20, 7u)]
    public void ABareHeaderWithAKeyIdAndDigestIsAMac(int digestLength, uint keyId)
    {
        byte[] datagram = Packets.Concat(Packets.Header(), Packets.Mac(keyId, digestLength));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout));
        Assert.True(layout.HasMac);
        Assert.False(layout.IsCryptoNak);
        Assert.Equal(48, layout.MacOffset);
        Assert.Equal(4 + digestLength, layout.MacLength);
        Assert.Equal(keyId, layout.MacKeyId);
        Assert.Equal(datagram.AsSpan(52).ToArray(), layout.MacDigest.ToArray());
        Assert.Equal(0, layout.ExtensionFieldsLength);
        Assert.Equal(48, layout.AuthenticatedData.Length);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void AFourByteMacIsACryptoNak(byte version)
    {
        byte[] datagram = Packets.Concat(Packets.Header(version, NtpMode.Server), Packets.Mac(0, 0));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout));
        Assert.True(layout.HasMac);
        Assert.True(layout.IsCryptoNak);
        Assert.Equal(4, layout.MacLength);
        Assert.Equal(0u, layout.MacKeyId);
        Assert.True(layout.MacDigest.IsEmpty);
    }

    [Fact]
    public void ExtensionFieldsFollowedByAMacAreBothFound()
    {
        byte[] datagram = Packets.Concat(Packets.Header(), Packets.Field(0x1234, 16), Packets.Field(0x2345, 20), Packets.Mac(42, 20));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout));
        Assert.Equal(36, layout.ExtensionFieldsLength);
        Assert.Equal(84, layout.MacOffset);
        Assert.Equal(24, layout.MacLength);
        Assert.Equal(42u, layout.MacKeyId);
        Assert.Equal(84, layout.AuthenticatedData.Length);
        Assert.Equal(new List<(ushort, int, int)> { (0x1234, 48, 16), (0x2345, 64, 20) }, Fields(layout));
    }

    [Fact]
    public void ALastFieldShorterThan28BytesWithoutAMacIsAmbiguousAndRejected()
    {
        // RFC 7822 §7.5.1.4: without a MAC the last field must be at least 28 bytes, or it reads as a MAC.
        byte[] datagram = Packets.Concat(Packets.Header(), Packets.Field(0x1234, 16));
        Assert.Equal(NtpParseStatus.InvalidMacLength, NtpPacketLayout.TryParse(datagram, out _, out int offset));
        Assert.Equal(48, offset);

        byte[] longEnough = Packets.Concat(Packets.Header(), Packets.Field(0x1234, 28));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(longEnough, out NtpPacketLayout layout));
        Assert.False(layout.HasMac);
        Assert.Equal(1, layout.ExtensionFieldCount);
    }

    [Fact]
    public void Ntpv3HasNoExtensionFieldsSoLongerTrailersAreInvalidMacs()
    {
        byte[] datagram = Packets.Concat(Packets.Header(3), Packets.Field(0x1234, 28));
        Assert.Equal(NtpParseStatus.InvalidMacLength, NtpPacketLayout.TryParse(datagram, out _, out int offset));
        Assert.Equal(48, offset);
        byte[] withMac = Packets.Concat(Packets.Header(3), Packets.Mac(1, 20));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(withMac, out NtpPacketLayout layout));
        Assert.Equal(24, layout.MacLength);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(16)]
    [InlineData(21)]
    public void TrailersThatAreNotMacLengthsAreRejected(int length)
    {
        byte[] datagram = Packets.Concat(Packets.Header(), new byte[length]);
        Assert.Equal(NtpParseStatus.InvalidMacLength, NtpPacketLayout.TryParse(datagram, out _, out int offset));
        Assert.Equal(48, offset);
    }

    [Theory]
    [InlineData(0, NtpParseStatus.InvalidExtensionFieldLength)]
    [InlineData(4, NtpParseStatus.InvalidExtensionFieldLength)]
    [InlineData(10, NtpParseStatus.InvalidExtensionFieldLength)]
    [InlineData(12, NtpParseStatus.InvalidExtensionFieldLength)]
    [InlineData(18, NtpParseStatus.MisalignedExtensionFieldLength)]
    [InlineData(30, NtpParseStatus.MisalignedExtensionFieldLength)]
    [InlineData(44, NtpParseStatus.ExtensionFieldTruncated)]
    [InlineData(65532, NtpParseStatus.ExtensionFieldTruncated)]
    public void ExtensionFieldLengthsThatLieAreRejected(int length, NtpParseStatus expected)
    {
        // 40 bytes after the header: more than a MAC, so they must be extension fields.
        byte[] datagram = Packets.Concat(Packets.Header(), new byte[40]);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(48), 0x0104);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(50), (ushort)length);
        Assert.Equal(expected, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout, out int offset));
        Assert.Equal(48, offset);
        Assert.Equal(0, layout.ExtensionFieldsLength);
    }

    [Fact]
    public void ALyingLengthInALaterFieldIsReportedAtThatField()
    {
        byte[] datagram = Packets.Concat(Packets.Header(), Packets.Field(0x0104, 36), Packets.Field(0x0204, 40));
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(84 + 2), 10);
        Assert.Equal(NtpParseStatus.InvalidExtensionFieldLength, NtpPacketLayout.TryParse(datagram, out _, out int offset));
        Assert.Equal(84, offset);
        Assert.Equal(
            "extension field at offset 84: length 10 is below the RFC 7822 minimum of 16",
            NtpParseStatus.InvalidExtensionFieldLength.Describe(offset, datagram));
    }

    [Fact]
    public void MoreThanMaxFieldsExtensionFieldsAreRejected()
    {
        byte[] exactly = Packets.Concat([Packets.Header(), .. Enumerable.Repeat(Packets.Field(0x7000, 16), 64), Packets.Mac(1, 20)]);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(exactly, out NtpPacketLayout layout));
        Assert.Equal(64, layout.ExtensionFieldCount);
        Assert.Equal(64, Fields(layout).Count);

        byte[] tooMany = Packets.Concat([Packets.Header(), .. Enumerable.Repeat(Packets.Field(0x7000, 16), 65), Packets.Mac(1, 20)]);
        Assert.Equal(NtpParseStatus.TooManyExtensionFields, NtpPacketLayout.TryParse(tooMany, out _, out int offset));
        Assert.Equal(48 + (64 * 16), offset);
    }

    [Fact]
    public void TheFieldLimitIsConfigurable()
    {
        byte[] three = Packets.Concat(Packets.Header(), Packets.Field(1, 16), Packets.Field(2, 16), Packets.Field(3, 28));
        Assert.Equal(NtpParseStatus.TooManyExtensionFields, NtpPacketLayout.TryParse(three, 2, out _, out int offset));
        Assert.Equal(80, offset);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(three, 3, out NtpPacketLayout layout, out _));
        Assert.Equal(3, Fields(layout).Count);
    }

    [Fact]
    public void EveryTruncatedPrefixOfEveryValidPacketIsRejectedOrReadAsAShorterPacket()
    {
        foreach ((string name, byte[] datagram) in Packets.AllValid())
        {
            Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout full));
            var fullFields = Fields(full);

            for (int length = 0; length < datagram.Length; length++)
            {
                byte[] prefix = datagram[..length];
                NtpParseStatus status = NtpPacketLayout.TryParse(prefix, out NtpPacketLayout layout, out int offset);
                if (status != NtpParseStatus.Ok)
                {
                    Assert.InRange(offset, 0, length);
                    Assert.False(string.IsNullOrEmpty(status.Describe(offset, prefix)));
                    continue;
                }

                // A shorter reading must account for every byte and may only contain fields of the original.
                Assert.True(length >= 48, $"{name}: a {length}-byte prefix parsed");
                Assert.Equal(length, 48 + layout.ExtensionFieldsLength + layout.MacLength);
                Assert.Contains(layout.MacLength, new[] { 0, 4, 20, 24 });
                Assert.All(Fields(layout), f => Assert.Contains(f, fullFields));
            }
        }
    }

    [Fact]
    public void RandomBytesNeverThrow()
    {
        var random = new Random(5905);
        byte[] buffer = new byte[600];
        int ok = 0;
        for (int i = 0; i < 20_000; i++)
        {
            int length = random.Next(buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            // Give most datagrams a plausible first byte so the fuzzing reaches the extension fields.
            if (length > 0 && random.Next(4) != 0)
            {
                buffer[0] = (byte)((random.Next(4) << 6) | (4 << 3) | 3);
            }

            if (length > 52 && random.Next(2) == 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(50), (ushort)(random.Next(length - 44) & ~3));
            }

            ok += ParseAndWalk(buffer.AsSpan(0, length)) ? 1 : 0;
        }

        Assert.InRange(ok, 1, 20_000);
    }

    [Fact]
    public void MutatedValidPacketsNeverThrow()
    {
        var random = new Random(8915);
        var valid = Packets.AllValid().Select(v => v.Datagram).ToArray();
        for (int i = 0; i < 20_000; i++)
        {
            byte[] datagram = (byte[])valid[random.Next(valid.Length)].Clone();
            int flips = random.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                datagram[random.Next(datagram.Length)] ^= (byte)random.Next(1, 256);
            }

            ParseAndWalk(datagram.AsSpan(0, random.Next(datagram.Length + 1)));
        }
    }

    private static bool ParseAndWalk(ReadOnlySpan<byte> datagram)
    {
        NtpParseStatus status = NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout, out int offset);
        _ = status.Describe(offset, datagram);
        if (status != NtpParseStatus.Ok)
        {
            return false;
        }

        ExtensionFieldReader reader = layout.GetExtensionFields();
        while (reader.TryReadNext(out _, out status))
        {
        }

        Assert.Equal(NtpParseStatus.Ok, status);
        _ = layout.MacKeyId;
        _ = layout.MacDigest;
        return true;
    }

    [Fact]
    public void TheThrowingParseReportsOffsetAndCause()
    {
        byte[] datagram = Packets.Concat(Packets.Header(), Packets.Field(0x0104, 36));
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(50), 200);
        byte[] copy = datagram;
        var exception = Assert.Throws<NtpFormatException>(() => NtpPacketLayout.Parse(copy));
        Assert.Equal(NtpParseStatus.ExtensionFieldTruncated, exception.Status);
        Assert.Equal(48, exception.Offset);
        Assert.Equal("extension field at offset 48: length 200 runs past the end of the datagram, which has 36 bytes left", exception.Message);
    }
}
