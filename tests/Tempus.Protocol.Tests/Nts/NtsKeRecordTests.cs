using System.Buffers;
using System.Text.Json;

namespace Tempus.Protocol.Tests;

public class NtsKeRecordTests
{
    public static TheoryData<string> NetnodStreams() => new() { "request", "response" };

    // RFC 8915 §4: records of a real NTS-KE exchange (Netnod, 2019), decoded one by one.
    [Theory]
    [MemberData(nameof(NetnodStreams))]
    public void EveryRecordOfTheRealNetnodExchangeIsReadAsCaptured(string stream)
    {
        JsonElement vectors = NtsKeMessages.Load();
        byte[] message = Convert.FromHexString(vectors.GetProperty(stream + "_hex").GetString()!);
        JsonElement[] expected = vectors.GetProperty(stream + "_records").EnumerateArray().ToArray();

        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(message));
        foreach (JsonElement record in expected)
        {
            Assert.True(NtsKeRecordReader.TryReadRecord(ref reader, out NtsKeRecord actual));
            Assert.Equal(record.GetProperty("critical").GetBoolean(), actual.Critical);
            Assert.Equal(record.GetProperty("type").GetInt32(), (int)actual.Type);
            Assert.Equal(record.GetProperty("body_len").GetInt32(), actual.BodyLength);
            Assert.Equal(record.GetProperty("body_hex").GetString(), Convert.ToHexStringLower(actual.Body.ToArray()));
        }

        Assert.True(reader.End);
    }

    [Fact]
    public void TheCriticalBitIsTheHighBitOfTheTypeField()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>([0x84, 0x00, 0x00, 0x01, 0xAA, 0x04, 0x00, 0x00, 0x00]));
        Assert.True(NtsKeRecordReader.TryReadRecord(ref reader, out NtsKeRecord first));
        Assert.True(first.Critical);
        Assert.Equal(NtsKeRecordType.CompliantAes128GcmSivExporter, first.Type);
        Assert.Equal([0xAA], first.Body.ToArray());
        Assert.True(NtsKeRecordReader.TryReadRecord(ref reader, out NtsKeRecord second));
        Assert.False(second.Critical);
        Assert.Equal(NtsKeRecordType.CompliantAes128GcmSivExporter, second.Type);
        Assert.Equal(0, second.BodyLength);
    }

    [Fact]
    public void EveryTruncatedRecordReturnsFalseAndConsumesNothing()
    {
        byte[] message = NtsKeMessages.NetnodResponse;
        for (int length = 0; length < message.Length; length++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(message, 0, length));
            long before;
            do
            {
                before = reader.Consumed;
            }
            while (NtsKeRecordReader.TryReadRecord(ref reader, out _));

            // Whatever whole records there were are consumed; the partial one is left untouched.
            Assert.Equal(before, reader.Consumed);
            Assert.True(reader.Remaining < NtsKeRecord.HeaderSize || length - before < NtsKeRecord.HeaderSize + (message[before + 2] << 8 | message[before + 3]));
        }
    }

    [Fact]
    public void ABodyThatSpansSegmentsIsReadWithoutLosingBytes()
    {
        byte[] message = NtsKeMessages.NetnodResponse;
        var reader = new SequenceReader<byte>(NtsKeMessages.Segmented(message, 1, 2, 3, 5, 14, 15, 50, 100, 121, 122, 123));
        var records = new List<NtsKeRecord>();
        while (NtsKeRecordReader.TryReadRecord(ref reader, out NtsKeRecord record))
        {
            records.Add(record);
        }

        Assert.True(reader.End);
        Assert.Equal(11, records.Count);
        Assert.Equal(message.AsSpan(16, 104).ToArray(), records[2].Body.ToArray());
    }

    [Fact]
    public void ABodyOverTheLimitIsRejectedAsSoonAsItsHeaderArrives()
    {
        byte[] header = [0x00, 0x05, 0x04, 0x01];
        var e = Assert.Throws<NtsKeProtocolException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Packets.Concat(new byte[10], header)));
            reader.Advance(10);
            return NtsKeRecordReader.TryReadRecord(ref reader, out _);
        });
        Assert.Equal(NtsKeProtocolError.RecordBodyTooLong, e.Error);
        Assert.Equal(10, e.Offset);
        Assert.Contains("New Cookie for NTPv4 (type 5) record at offset 10 has a body of 1025 bytes", e.Message);
    }

    [Fact]
    public void TheBodyLimitCanBeSetPerCall()
    {
        byte[] record = [0x00, 0x05, 0x00, 0x03, 1, 2, 3];
        Assert.Throws<NtsKeProtocolException>(() =>
        {
            var tooSmall = new SequenceReader<byte>(new ReadOnlySequence<byte>(record));
            return NtsKeRecordReader.TryReadRecord(ref tooSmall, 2, out _);
        });
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(record));
        Assert.True(NtsKeRecordReader.TryReadRecord(ref reader, 3, out NtsKeRecord read));
        Assert.Equal(3, read.BodyLength);
    }

    [Fact]
    public void RecordsAreWrittenWithTheCriticalBitAndBigEndianFields()
    {
        var buffer = new byte[16];
        Assert.True(NtsKeRecordWriter.TryWriteUInt16List(buffer, NtsKeRecordType.AeadAlgorithmNegotiation, critical: true, [30, 15], out int written));
        Assert.Equal("80040004001E000F", Convert.ToHexString(buffer, 0, written));
        Assert.True(NtsKeRecordWriter.TryWriteUInt16(buffer, NtsKeRecordType.NtpPortNegotiation, critical: false, 123, out written));
        Assert.Equal("00070002007B", Convert.ToHexString(buffer, 0, written));
        Assert.True(NtsKeRecordWriter.TryWrite(buffer, NtsKeRecordType.CompliantAes128GcmSivExporter, critical: false, [], out written));
        Assert.Equal("04000000", Convert.ToHexString(buffer, 0, written));
        Assert.False(NtsKeRecordWriter.TryWrite(buffer.AsSpan(0, 5), NtsKeRecordType.NewCookieForNtpv4, critical: false, [1, 2], out written));
        Assert.Equal(0, written);
        Assert.Throws<ArgumentOutOfRangeException>(() => NtsKeRecordWriter.TryWrite(buffer, (NtsKeRecordType)0x8000, false, [], out _));
    }
}
