using System.Buffers.Binary;
using System.Globalization;

namespace Tempus.Protocol;

/// <summary>Human-readable descriptions of <see cref="NtpParseStatus"/>, naming where in the datagram and why.</summary>
public static class NtpParseStatusExtensions
{
    /// <summary>Describes a parse failure by place and cause, e.g. "extension field at offset 48: length is below the RFC 7822 minimum of 16 bytes".</summary>
    /// <param name="s">The status.</param>
    /// <param name="offset">The offset from the start of the datagram where the problem was found.</param>
    /// <returns>A one-line description.</returns>
    public static string Describe(this NtpParseStatus s, int offset) => s.Describe(offset, ReadOnlySpan<byte>.Empty);

    /// <summary>
    /// Describes a parse failure by place and cause, quoting the offending values from the datagram when it is given,
    /// e.g. "extension field at offset 48: length 10 is below the RFC 7822 minimum of 16".
    /// </summary>
    /// <param name="s">The status.</param>
    /// <param name="offset">The offset from the start of the datagram where the problem was found.</param>
    /// <param name="datagram">The whole datagram the status was reported for, or empty when it is not at hand.</param>
    /// <returns>A one-line description.</returns>
    public static string Describe(this NtpParseStatus s, int offset, ReadOnlySpan<byte> datagram)
    {
        bool hasByte0 = datagram.Length > 0;
        bool hasEfHeader = offset >= 0 && datagram.Length - offset >= ExtensionField.HeaderSize;
        int efLength = hasEfHeader ? BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(offset + 2)) : -1;
        int remaining = offset >= 0 && offset <= datagram.Length ? datagram.Length - offset : -1;
        var inv = CultureInfo.InvariantCulture;

        return s switch
        {
            NtpParseStatus.Ok => "no error",
            NtpParseStatus.TooShort => datagram.IsEmpty
                ? string.Create(inv, $"NTP header at offset {offset}: the datagram is shorter than the {NtpPacketHeader.Size}-byte header")
                : string.Create(inv, $"NTP header at offset {offset}: the datagram of {datagram.Length} bytes is shorter than the {NtpPacketHeader.Size}-byte header"),
            NtpParseStatus.UnsupportedVersion => hasByte0
                ? string.Create(inv, $"NTP header at offset {offset}: version {(datagram[0] >> 3) & 7} is not supported (NTP versions 1 to 4 are)")
                : string.Create(inv, $"NTP header at offset {offset}: the version is not supported (NTP versions 1 to 4 are)"),
            NtpParseStatus.InvalidMode => string.Create(inv, $"NTP header at offset {offset}: mode 0 is reserved and only valid in NTPv1 packets (RFC 5905 §7.3)"),
            NtpParseStatus.UnsupportedMode => hasByte0
                ? string.Create(inv, $"NTP header at offset {offset}: mode {datagram[0] & 7} is an ntpq/ntpdc control message, not an NTP time packet")
                : string.Create(inv, $"NTP header at offset {offset}: modes 6 and 7 are ntpq/ntpdc control messages, not NTP time packets"),
            NtpParseStatus.InvalidExtensionFieldLength => hasEfHeader
                ? string.Create(inv, $"extension field at offset {offset}: length {efLength} is below the RFC 7822 minimum of {ExtensionFieldReader.MinFieldLength}")
                : string.Create(inv, $"extension field at offset {offset}: length is below the RFC 7822 minimum of {ExtensionFieldReader.MinFieldLength}"),
            NtpParseStatus.MisalignedExtensionFieldLength => hasEfHeader
                ? string.Create(inv, $"extension field at offset {offset}: length {efLength} is not a multiple of 4 (RFC 7822 §3 pads fields to a word boundary)")
                : string.Create(inv, $"extension field at offset {offset}: length is not a multiple of 4 (RFC 7822 §3 pads fields to a word boundary)"),
            NtpParseStatus.ExtensionFieldTruncated => hasEfHeader
                ? string.Create(inv, $"extension field at offset {offset}: length {efLength} runs past the end of the datagram, which has {remaining} bytes left")
                : remaining >= 0
                    ? string.Create(inv, $"extension field at offset {offset}: only {remaining} bytes remain, fewer than the 4-byte type and length header")
                    : string.Create(inv, $"extension field at offset {offset}: the field runs past the end of the datagram"),
            NtpParseStatus.TooManyExtensionFields => string.Create(inv, $"extension field at offset {offset}: the datagram carries more extension fields than the configured limit"),
            NtpParseStatus.InvalidMacLength => remaining >= 0
                ? string.Create(inv, $"MAC at offset {offset}: {remaining} trailing bytes are neither a MAC of 4, 20 or 24 bytes (RFC 5905 §7.3) nor an extension field (RFC 7822 §3)")
                : string.Create(inv, $"MAC at offset {offset}: the trailing bytes are neither a MAC of 4, 20 or 24 bytes (RFC 5905 §7.3) nor an extension field (RFC 7822 §3)"),
            _ => string.Create(inv, $"offset {offset}: unknown parse status {(int)s}"),
        };
    }
}
