using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Tempus.Protocol;

/// <summary>
/// Where the parts of an NTP datagram are: the header, the extension fields and the MAC. A view into the
/// datagram, produced by <see cref="TryParse(ReadOnlySpan{byte}, out NtpPacketLayout)"/> without allocating.
/// </summary>
/// <remarks>
/// How the bytes after the 48-byte header are split, which is what chrony and NTPsec do:
/// <list type="bullet">
/// <item>NTPv1 to v3 have no extension fields: whatever follows the header is a MAC of 4 (crypto-NAK),
/// 20 or 24 bytes, or nothing.</item>
/// <item>NTPv4: while more than 24 bytes remain, the next bytes must be an extension field (RFC 7822 §3:
/// length at least 16, a multiple of 4, within the datagram). Once 24 or fewer remain, they are the MAC:
/// RFC 7822 §7.5.1.3 caps a MAC without a negotiated length at 24 bytes, and §7.5.1.4 makes the last
/// extension field of a packet without a MAC at least 28 bytes, so the two cannot be confused. The remainder
/// must be 0, 4 (crypto-NAK, RFC 5905 Appendix A.5), 20 (key id and 16-byte MD5 or AES-CMAC digest) or
/// 24 (key id and 20-byte SHA-1 or truncated SHA-2 digest).</item>
/// </list>
/// </remarks>
public readonly ref struct NtpPacketLayout
{
    /// <summary>Length of a crypto-NAK: a MAC holding only a zero key id (RFC 5905 Appendix A.5).</summary>
    public const int CryptoNakLength = 4;

    /// <summary>The longest MAC accepted without a negotiated length (RFC 7822 §7.5.1.3).</summary>
    public const int MaxMacLength = 24;

    private readonly ReadOnlySpan<byte> _datagram;
    private readonly int _maxExtensionFields;

    private NtpPacketLayout(ReadOnlySpan<byte> datagram, NtpPacketHeader header, int extensionFieldsLength, int extensionFieldCount, int macLength, int maxExtensionFields)
    {
        _datagram = datagram;
        _maxExtensionFields = maxExtensionFields;
        Header = header;
        ExtensionFieldsLength = extensionFieldsLength;
        ExtensionFieldCount = extensionFieldCount;
        MacLength = macLength;
    }

    /// <summary>The parsed header.</summary>
    public NtpPacketHeader Header { get; }

    /// <summary>The whole datagram this layout describes.</summary>
    public ReadOnlySpan<byte> Datagram => _datagram;

    /// <summary>Where the extension fields start: right after the header.</summary>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Read alongside the other offsets of an instance.")]
    public int ExtensionFieldsOffset => NtpPacketHeader.Size;

    /// <summary>The total length of all extension fields; 0 if there are none.</summary>
    public int ExtensionFieldsLength { get; }

    /// <summary>How many extension fields the datagram carries.</summary>
    public int ExtensionFieldCount { get; }

    /// <summary>The extension-field region, without header or MAC.</summary>
    public ReadOnlySpan<byte> ExtensionFieldsData => _datagram.Slice(NtpPacketHeader.Size, ExtensionFieldsLength);

    /// <summary>Where the MAC starts, or -1 if there is none.</summary>
    public int MacOffset => HasMac ? NtpPacketHeader.Size + ExtensionFieldsLength : -1;

    /// <summary>The MAC length: 0 (none), 4 (crypto-NAK), 20 or 24.</summary>
    public int MacLength { get; }

    /// <summary>Whether a MAC (or crypto-NAK) follows the header and extension fields.</summary>
    public bool HasMac => MacLength != 0;

    /// <summary>
    /// Whether the MAC is a crypto-NAK: a key id alone, which RFC 5905 Appendix A.5 sends as zero to say a request
    /// could not be authenticated. A client accepts one only if its origin timestamp matches an outstanding request.
    /// </summary>
    public bool IsCryptoNak => MacLength == CryptoNakLength;

    /// <summary>The key id that starts the MAC, or 0 if there is no MAC.</summary>
    public uint MacKeyId => HasMac ? BinaryPrimitives.ReadUInt32BigEndian(_datagram.Slice(MacOffset)) : 0;

    /// <summary>The digest after the key id: 16 or 20 bytes, or empty for a crypto-NAK or when there is no MAC.</summary>
    public ReadOnlySpan<byte> MacDigest => HasMac ? _datagram.Slice(MacOffset + 4, MacLength - 4) : default;

    /// <summary>What a MAC covers: the header and all extension fields (RFC 5905 §7.3, RFC 7822 §7.5.1.1).</summary>
    public ReadOnlySpan<byte> AuthenticatedData => _datagram.Slice(0, NtpPacketHeader.Size + ExtensionFieldsLength);

    /// <summary>A reader over the extension fields, with the same field limit the datagram was parsed with.</summary>
    /// <returns>The reader; its offsets count from the start of the datagram.</returns>
    public ExtensionFieldReader GetExtensionFields() =>
        new(ExtensionFieldsData, NtpPacketHeader.Size, _maxExtensionFields);

    /// <summary>Parses a datagram into header, extension fields and MAC with the default field limit. Never throws.</summary>
    /// <param name="datagram">The received datagram.</param>
    /// <param name="layout">The layout; default unless the result is <see cref="NtpParseStatus.Ok"/>.</param>
    /// <returns><see cref="NtpParseStatus.Ok"/>, or why the datagram must be dropped.</returns>
    public static NtpParseStatus TryParse(ReadOnlySpan<byte> datagram, out NtpPacketLayout layout) =>
        TryParse(datagram, ExtensionFieldReader.MaxFields, out layout, out _);

    /// <summary>Parses a datagram with the default field limit, reporting where a failure was found. Never throws.</summary>
    /// <param name="datagram">The received datagram.</param>
    /// <param name="layout">The layout; default unless the result is <see cref="NtpParseStatus.Ok"/>.</param>
    /// <param name="errorOffset">Where in the datagram the failure was found; 0 on success.</param>
    /// <returns><see cref="NtpParseStatus.Ok"/>, or why the datagram must be dropped.</returns>
    public static NtpParseStatus TryParse(ReadOnlySpan<byte> datagram, out NtpPacketLayout layout, out int errorOffset) =>
        TryParse(datagram, ExtensionFieldReader.MaxFields, out layout, out errorOffset);

    /// <summary>Parses a datagram with an explicit cap on the number of extension fields. Never throws.</summary>
    /// <param name="datagram">The received datagram.</param>
    /// <param name="maxExtensionFields">How many extension fields to accept.</param>
    /// <param name="layout">The layout; default unless the result is <see cref="NtpParseStatus.Ok"/>.</param>
    /// <param name="errorOffset">Where in the datagram the failure was found; 0 on success.</param>
    /// <returns><see cref="NtpParseStatus.Ok"/>, or why the datagram must be dropped.</returns>
    public static NtpParseStatus TryParse(ReadOnlySpan<byte> datagram, int maxExtensionFields, out NtpPacketLayout layout, out int errorOffset)
    {
        layout = default;
        errorOffset = 0;
        NtpParseStatus status = NtpPacketHeader.TryRead(datagram, out NtpPacketHeader header);
        if (status != NtpParseStatus.Ok)
        {
            return status;
        }

        int position = NtpPacketHeader.Size;
        int count = 0;

        // See the remarks on this type: RFC 7822 §7.5.1.3 and §7.5.1.4 make a remainder of at most
        // 24 bytes a MAC, and only NTPv4 has extension fields.
        if (header.Version == 4)
        {
            while (datagram.Length - position > MaxMacLength)
            {
                status = ExtensionFieldReader.Check(datagram.Slice(position), count, maxExtensionFields, out _, out int length);
                if (status != NtpParseStatus.Ok)
                {
                    errorOffset = position;
                    return status;
                }

                position += length;
                count++;
            }
        }

        int macLength = datagram.Length - position;
        if (macLength is not (0 or CryptoNakLength or 20 or MaxMacLength))
        {
            errorOffset = position;
            return NtpParseStatus.InvalidMacLength;
        }

        layout = new NtpPacketLayout(datagram, header, position - NtpPacketHeader.Size, count, macLength, Math.Max(maxExtensionFields, 0));
        return NtpParseStatus.Ok;
    }

    /// <summary>Parses a datagram, throwing on malformed input. For tools and the CLI; the packet path uses <c>TryParse</c>.</summary>
    /// <param name="datagram">The datagram.</param>
    /// <returns>The layout.</returns>
    /// <exception cref="NtpFormatException">The datagram is malformed; the message names the offset and the cause.</exception>
    public static NtpPacketLayout Parse(ReadOnlySpan<byte> datagram)
    {
        NtpParseStatus status = TryParse(datagram, out NtpPacketLayout layout, out int errorOffset);
        if (status != NtpParseStatus.Ok)
        {
            ThrowHelper.ThrowNtpFormatException(status, errorOffset, datagram);
        }

        return layout;
    }
}
