using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;

namespace Tempus.Protocol;

/// <summary>
/// Reads NTS-KE records (RFC 8915 §4, Figure 2) from a TLS byte stream: <see langword="false"/> with nothing consumed
/// while a record is incomplete, <see cref="NtsKeProtocolException"/> for a record that can never be valid.
/// </summary>
public static class NtsKeRecordReader
{
    /// <summary>Reads one record whose body is at most <see cref="NtsKeLimits.MaxRecordBodyLength"/> bytes.</summary>
    /// <param name="reader">The stream; advanced past the record only when the result is <see langword="true"/>.</param>
    /// <param name="record">The record, a view of <paramref name="reader"/>'s buffer.</param>
    /// <returns><see langword="true"/> if a whole record was read; <see langword="false"/> if more bytes are needed.</returns>
    /// <exception cref="NtsKeProtocolException">The Body Length exceeds the limit; <see cref="NtsKeProtocolException.Offset"/> is the record's offset in the reader's sequence.</exception>
    public static bool TryReadRecord(ref SequenceReader<byte> reader, out NtsKeRecord record) =>
        TryReadRecord(ref reader, NtsKeLimits.MaxRecordBodyLength, out record);

    /// <summary>Reads one record with an explicit body length limit.</summary>
    /// <param name="reader">The stream; advanced past the record only when the result is <see langword="true"/>.</param>
    /// <param name="maxBodyLength">The longest body accepted, 0 to 65535.</param>
    /// <param name="record">The record, a view of <paramref name="reader"/>'s buffer.</param>
    /// <returns><see langword="true"/> if a whole record was read; <see langword="false"/> if more bytes are needed.</returns>
    /// <exception cref="NtsKeProtocolException">The Body Length exceeds <paramref name="maxBodyLength"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBodyLength"/> is negative.</exception>
    public static bool TryReadRecord(ref SequenceReader<byte> reader, int maxBodyLength, out NtsKeRecord record)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBodyLength);
        return TryReadRecord(ref reader, maxBodyLength, reader.Consumed, "NTS-KE record", out record);
    }

    // The message parsers pass the offset of the reader's position from the start of the message, and their
    // own name, so that errors are reported against the message rather than the current buffer.
    internal static bool TryReadRecord(ref SequenceReader<byte> reader, int maxBodyLength, long offset, string what, out NtsKeRecord record)
    {
        record = default;
        Span<byte> header = stackalloc byte[NtsKeRecord.HeaderSize];
        if (!reader.TryCopyTo(header))
        {
            return false;
        }

        ushort typeField = BinaryPrimitives.ReadUInt16BigEndian(header);
        int bodyLength = BinaryPrimitives.ReadUInt16BigEndian(header.Slice(2));
        var type = (NtsKeRecordType)(typeField & NtsKeRecord.MaxType);

        // Reject an over-long body as soon as its length is known, rather than buffering it first.
        if (bodyLength > maxBodyLength)
        {
            ThrowHelper.ThrowNtsKeProtocolException(
                NtsKeProtocolError.RecordBodyTooLong,
                offset,
                string.Create(CultureInfo.InvariantCulture, $"{what}: {Describe(type)} record at offset {offset} has a body of {bodyLength} bytes, more than the limit of {maxBodyLength}"));
        }

        if (reader.Remaining - NtsKeRecord.HeaderSize < bodyLength)
        {
            return false;
        }

        reader.Advance(NtsKeRecord.HeaderSize);
        ReadOnlySequence<byte> body = reader.UnreadSequence.Slice(0, bodyLength);
        reader.Advance(bodyLength);
        record = new NtsKeRecord((typeField & 0x8000) != 0, type, body);
        return true;
    }

    // "AEAD Algorithm Negotiation (type 4)", or "type 99" for unknown records; used in every error message.
    internal static string Describe(NtsKeRecordType type)
    {
        string? name = type switch
        {
            NtsKeRecordType.EndOfMessage => "End of Message",
            NtsKeRecordType.NextProtocolNegotiation => "Next Protocol Negotiation",
            NtsKeRecordType.Error => "Error",
            NtsKeRecordType.Warning => "Warning",
            NtsKeRecordType.AeadAlgorithmNegotiation => "AEAD Algorithm Negotiation",
            NtsKeRecordType.NewCookieForNtpv4 => "New Cookie for NTPv4",
            NtsKeRecordType.NtpServerNegotiation => "NTPv4 Server Negotiation",
            NtsKeRecordType.NtpPortNegotiation => "NTPv4 Port Negotiation",
            NtsKeRecordType.CompliantAes128GcmSivExporter => "Compliant AES-128-GCM-SIV Exporter",
            _ => null,
        };
        int number = (ushort)type;
        return name is null
            ? string.Create(CultureInfo.InvariantCulture, $"type {number}")
            : string.Create(CultureInfo.InvariantCulture, $"{name} (type {number})");
    }
}
