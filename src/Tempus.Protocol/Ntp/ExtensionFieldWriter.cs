using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>Serializes NTPv4 extension fields (RFC 7822 §3). Allocation-free.</summary>
public static class ExtensionFieldWriter
{
    /// <summary>
    /// The minimum length of the last extension field of a packet without a MAC (RFC 7822 §7.5.1.4), which keeps
    /// it distinguishable from a MAC of at most 24 bytes. Pass it as the minimum length when writing that field.
    /// </summary>
    public const int MinLastFieldLengthWithoutMac = 28;

    /// <summary>The largest field length, the largest multiple of 4 that fits the 16-bit Length field.</summary>
    public const int MaxFieldLength = 65532;

    /// <summary>The total length of a field carrying <paramref name="valueLength"/> bytes: header plus value, padded to a multiple of 4 and to at least 16.</summary>
    /// <param name="valueLength">The length of the value before padding.</param>
    /// <returns>The length of the field on the wire.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="valueLength"/> is negative or too large for any field.</exception>
    public static int GetPaddedLength(int valueLength) => GetPaddedLength(valueLength, ExtensionFieldReader.MinFieldLength);

    /// <summary>The total length of a field carrying <paramref name="valueLength"/> bytes, padded to a multiple of 4 and to at least <paramref name="minimumLength"/>.</summary>
    /// <param name="valueLength">The length of the value before padding.</param>
    /// <param name="minimumLength">The smallest total length, e.g. <see cref="MinLastFieldLengthWithoutMac"/>.</param>
    /// <returns>The length of the field on the wire.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is negative or the field would exceed <see cref="MaxFieldLength"/>.</exception>
    public static int GetPaddedLength(int valueLength, int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(valueLength);
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(valueLength, MaxFieldLength - ExtensionField.HeaderSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minimumLength, MaxFieldLength);
        int length = (ExtensionField.HeaderSize + valueLength + 3) & ~3;
        return Math.Max(length, (Math.Max(minimumLength, ExtensionFieldReader.MinFieldLength) + 3) & ~3);
    }

    /// <summary>Writes a field: type, length, the value, then zero padding to a multiple of 4 and to at least 16 bytes.</summary>
    /// <param name="destination">Where to write the field.</param>
    /// <param name="type">The field type (see <see cref="ExtensionFieldType"/>).</param>
    /// <param name="value">The value before padding.</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is too long for any field.</exception>
    public static bool TryWrite(Span<byte> destination, ushort type, ReadOnlySpan<byte> value, out int written) =>
        TryWrite(destination, type, value, ExtensionFieldReader.MinFieldLength, out written);

    /// <summary>Writes a field padded to at least <paramref name="minimumLength"/> bytes.</summary>
    /// <param name="destination">Where to write the field.</param>
    /// <param name="type">The field type.</param>
    /// <param name="value">The value before padding.</param>
    /// <param name="minimumLength">The smallest total length, e.g. <see cref="MinLastFieldLengthWithoutMac"/> for the last field of a packet without a MAC.</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The field would exceed <see cref="MaxFieldLength"/>.</exception>
    public static bool TryWrite(Span<byte> destination, ushort type, ReadOnlySpan<byte> value, int minimumLength, out int written)
    {
        if (!TryWriteHeader(destination, type, value.Length, minimumLength, out written))
        {
            return false;
        }

        value.CopyTo(destination.Slice(ExtensionField.HeaderSize));
        return true;
    }

    /// <summary>
    /// Writes a field's header and zero padding but leaves its value to the caller, for values produced in place
    /// (e.g. the AEAD output of an NTS authenticator, RFC 8915 §5.6): fill
    /// <c>destination.Slice(4, valueLength)</c> afterwards.
    /// </summary>
    /// <param name="destination">Where to write the field.</param>
    /// <param name="type">The field type.</param>
    /// <param name="valueLength">The length of the value the caller will write.</param>
    /// <param name="minimumLength">The smallest total length (16 unless the field must be longer).</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The field would exceed <see cref="MaxFieldLength"/>.</exception>
    public static bool TryWriteHeader(Span<byte> destination, ushort type, int valueLength, int minimumLength, out int written)
    {
        int length = GetPaddedLength(valueLength, minimumLength);
        if (destination.Length < length)
        {
            written = 0;
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, type);
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), (ushort)length);
        destination.Slice(ExtensionField.HeaderSize + valueLength, length - ExtensionField.HeaderSize - valueLength).Clear();
        written = length;
        return true;
    }
}
