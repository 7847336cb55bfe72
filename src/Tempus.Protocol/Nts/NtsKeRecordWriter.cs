using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>Serializes single NTS-KE records (RFC 8915 §4, Figure 2). Allocation-free.</summary>
public static class NtsKeRecordWriter
{
    /// <summary>The length of a record with a body of <paramref name="bodyLength"/> bytes: header plus body, no padding (RFC 8915 §4).</summary>
    /// <param name="bodyLength">The body length, 0 to 65535.</param>
    /// <returns>The record length on the wire.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bodyLength"/> does not fit the 16-bit Body Length.</exception>
    public static int GetLength(int bodyLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bodyLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bodyLength, ushort.MaxValue);
        return NtsKeRecord.HeaderSize + bodyLength;
    }

    /// <summary>Writes a record.</summary>
    /// <param name="destination">Where to write it.</param>
    /// <param name="type">The record type, at most <see cref="NtsKeRecord.MaxType"/>.</param>
    /// <param name="critical">The critical bit.</param>
    /// <param name="body">The body.</param>
    /// <param name="written">The record length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> does not fit 15 bits or <paramref name="body"/> is longer than 65535 bytes.</exception>
    public static bool TryWrite(Span<byte> destination, NtsKeRecordType type, bool critical, ReadOnlySpan<byte> body, out int written)
    {
        if (!TryWriteHeader(destination, type, critical, body.Length, out written))
        {
            return false;
        }

        body.CopyTo(destination.Slice(NtsKeRecord.HeaderSize));
        return true;
    }

    /// <summary>Writes a record whose body is one 16-bit number (Error, Warning, NTPv4 Port Negotiation).</summary>
    /// <param name="destination">Where to write it.</param>
    /// <param name="type">The record type.</param>
    /// <param name="critical">The critical bit.</param>
    /// <param name="value">The body value, written big-endian.</param>
    /// <param name="written">The record length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> does not fit 15 bits.</exception>
    public static bool TryWriteUInt16(Span<byte> destination, NtsKeRecordType type, bool critical, ushort value, out int written)
    {
        if (!TryWriteHeader(destination, type, critical, sizeof(ushort), out written))
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(NtsKeRecord.HeaderSize), value);
        return true;
    }

    /// <summary>Writes a record whose body is a list of 16-bit ids (Next Protocol Negotiation, AEAD Algorithm Negotiation).</summary>
    /// <param name="destination">Where to write it.</param>
    /// <param name="type">The record type.</param>
    /// <param name="critical">The critical bit.</param>
    /// <param name="values">The ids in order, written big-endian.</param>
    /// <param name="written">The record length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> does not fit 15 bits or the list is too long for a record.</exception>
    public static bool TryWriteUInt16List(Span<byte> destination, NtsKeRecordType type, bool critical, ReadOnlySpan<ushort> values, out int written)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(values.Length, ushort.MaxValue / 2, nameof(values));
        if (!TryWriteHeader(destination, type, critical, values.Length * 2, out written))
        {
            return false;
        }

        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(NtsKeRecord.HeaderSize + (2 * i)), values[i]);
        }

        return true;
    }

    /// <summary>Writes a record's header only, for a body the caller writes at <c>destination.Slice(4, bodyLength)</c>.</summary>
    /// <param name="destination">Where to write the record.</param>
    /// <param name="type">The record type.</param>
    /// <param name="critical">The critical bit.</param>
    /// <param name="bodyLength">The length of the body the caller will write.</param>
    /// <param name="written">The whole record length (header and body) on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> cannot hold the whole record.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> does not fit 15 bits or <paramref name="bodyLength"/> does not fit 16 bits.</exception>
    public static bool TryWriteHeader(Span<byte> destination, NtsKeRecordType type, bool critical, int bodyLength, out int written)
    {
        if ((ushort)type > NtsKeRecord.MaxType)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(type), type, "the NTS-KE record type is a 15-bit number (RFC 8915 §4)");
        }

        int length = GetLength(bodyLength);
        if (destination.Length < length)
        {
            written = 0;
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)((ushort)type | (critical ? 0x8000 : 0)));
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), (ushort)bodyLength);
        written = length;
        return true;
    }
}
