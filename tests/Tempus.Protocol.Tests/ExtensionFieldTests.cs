using System.Buffers.Binary;

namespace Tempus.Protocol.Tests;

public class ExtensionFieldTests
{
    [Theory]
    [InlineData(0, 16)]
    [InlineData(1, 16)]
    [InlineData(12, 16)]
    [InlineData(13, 20)]
    [InlineData(16, 20)]
    [InlineData(32, 36)]
    [InlineData(100, 104)]
    [InlineData(65528, 65532)]
    public void PaddedLengthIsAWordMultipleOfAtLeast16(int valueLength, int expected)
    {
        Assert.Equal(expected, ExtensionFieldWriter.GetPaddedLength(valueLength));
    }

    [Fact]
    public void AFieldTooLongForTheLengthFieldIsAnError()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ExtensionFieldWriter.GetPaddedLength(65529));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExtensionFieldWriter.GetPaddedLength(-1));
    }

    [Fact]
    public void TheLastFieldOfAPacketWithoutAMacCanBePaddedTo28Bytes()
    {
        Assert.Equal(28, ExtensionFieldWriter.GetPaddedLength(0, ExtensionFieldWriter.MinLastFieldLengthWithoutMac));
        Assert.Equal(40, ExtensionFieldWriter.GetPaddedLength(36, ExtensionFieldWriter.MinLastFieldLengthWithoutMac));
    }

    [Fact]
    public void WrittenFieldsAreZeroPaddedAndReadBack()
    {
        var buffer = new byte[64];
        buffer.AsSpan().Fill(0xFF);
        byte[] value = [1, 2, 3, 4, 5];
        Assert.True(ExtensionFieldWriter.TryWrite(buffer, ExtensionFieldType.UniqueIdentifier, value, out int written));
        Assert.Equal(16, written);
        Assert.Equal("01040010" + "0102030405" + "000000000000000000"[..14], Convert.ToHexString(buffer, 0, 16));
        Assert.Equal(0xFF, buffer[16]);

        var reader = new ExtensionFieldReader(buffer.AsSpan(0, written), 48);
        Assert.True(reader.TryReadNext(out ExtensionField field, out NtpParseStatus status));
        Assert.Equal(NtpParseStatus.Ok, status);
        Assert.Equal(ExtensionFieldType.UniqueIdentifier, field.Type);
        Assert.Equal(48, field.Offset);
        Assert.Equal(16, field.Length);
        Assert.Equal(value, field.Value[..5].ToArray());
        Assert.False(reader.TryReadNext(out _, out status));
        Assert.Equal(NtpParseStatus.Ok, status);
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void WritingIntoATooSmallBufferFails()
    {
        var buffer = new byte[19];
        Assert.False(ExtensionFieldWriter.TryWrite(buffer, 0x0204, new byte[13], out int written));
        Assert.Equal(0, written);
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    [Fact]
    public void AHeaderCanBeWrittenForAValueProducedInPlace()
    {
        var buffer = new byte[48];
        buffer.AsSpan().Fill(0xEE);
        Assert.True(ExtensionFieldWriter.TryWriteHeader(buffer, ExtensionFieldType.NtsAuthenticatorAndEncryptedExtensionFields, 34, 16, out int written));
        Assert.Equal(40, written);
        Assert.Equal(0x0404, BinaryPrimitives.ReadUInt16BigEndian(buffer));
        Assert.Equal(40, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)));
        Assert.All(buffer[4..38], b => Assert.Equal(0xEE, b));
        Assert.All(buffer[38..40], b => Assert.Equal(0, b));
    }

    [Fact]
    public void TheReaderRejectsAFieldHeaderCutShort()
    {
        var reader = new ExtensionFieldReader(new byte[] { 0x01, 0x04, 0x00 }, 48);
        Assert.False(reader.TryReadNext(out _, out NtpParseStatus status));
        Assert.Equal(NtpParseStatus.ExtensionFieldTruncated, status);
        Assert.Equal(48, reader.Offset);
        Assert.Equal(
            "extension field at offset 0: only 3 bytes remain, fewer than the 4-byte type and length header",
            status.Describe(0, new byte[] { 0x01, 0x04, 0x00 }));
    }

    [Theory]
    [InlineData(0, NtpParseStatus.InvalidExtensionFieldLength)]
    [InlineData(15, NtpParseStatus.InvalidExtensionFieldLength)]
    [InlineData(17, NtpParseStatus.MisalignedExtensionFieldLength)]
    [InlineData(24, NtpParseStatus.ExtensionFieldTruncated)]
    public void TheReaderChecksEveryLengthBeforeSlicing(int length, NtpParseStatus expected)
    {
        var fields = Packets.Concat(Packets.Field(0x0104, 16), Packets.Field(0x0204, 20));
        BinaryPrimitives.WriteUInt16BigEndian(fields.AsSpan(16 + 2), (ushort)length);
        var reader = new ExtensionFieldReader(fields, 48);
        Assert.True(reader.TryReadNext(out _, out _));
        Assert.False(reader.TryReadNext(out _, out NtpParseStatus status));
        Assert.Equal(expected, status);
        Assert.Equal(64, reader.Offset);
        Assert.Equal(1, reader.Count);

        // The error sticks: the reader never resumes past a bad length.
        Assert.False(reader.TryReadNext(out _, out status));
        Assert.Equal(expected, status);
        Assert.False(reader.IsAtEnd);
    }

    [Fact]
    public void TheReaderStopsAtItsFieldLimit()
    {
        var fields = Packets.Concat(Packets.Field(1, 16), Packets.Field(2, 16), Packets.Field(3, 16));
        var reader = new ExtensionFieldReader(fields, 48, maxFields: 2);
        Assert.True(reader.TryReadNext(out _, out _));
        Assert.True(reader.TryReadNext(out _, out _));
        Assert.False(reader.TryReadNext(out _, out NtpParseStatus status));
        Assert.Equal(NtpParseStatus.TooManyExtensionFields, status);
        Assert.Equal(80, reader.Offset);
    }

    [Fact]
    public void TheDefaultReaderAcceptsExactlyMaxFieldsFields()
    {
        var fields = Packets.Concat(Enumerable.Repeat(Packets.Field(1, 16), ExtensionFieldReader.MaxFields + 1).ToArray());
        var reader = new ExtensionFieldReader(fields, 0);
        int count = 0;
        while (reader.TryReadNext(out _, out _))
        {
            count++;
        }

        Assert.Equal(64, count);
        Assert.False(reader.TryReadNext(out _, out NtpParseStatus status));
        Assert.Equal(NtpParseStatus.TooManyExtensionFields, status);
    }
}
