using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>
/// The fixed 48-byte NTP packet header (RFC 5905 §7.3, Figure 8). A mutable value: the engines fill one in
/// and write it straight into a send buffer with <see cref="TryWrite"/>.
/// </summary>
public struct NtpPacketHeader
{
    /// <summary>Size of the header on the wire, in bytes.</summary>
    public const int Size = 48;

    /// <summary>The highest NTP version this library reads and writes.</summary>
    public const byte CurrentVersion = 4;

    private LeapIndicator _leap;
    private byte _version;
    private NtpMode _mode;

    /// <summary>The leap indicator (two bits).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value above 3.</exception>
    public LeapIndicator Leap
    {
        readonly get => _leap;
        set
        {
            if ((byte)value > 3)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "the leap indicator is a two-bit field (0 to 3)");
            }

            _leap = value;
        }
    }

    /// <summary>The version number (three bits); 4 for NTPv4.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value above 7.</exception>
    public byte Version
    {
        readonly get => _version;
        set
        {
            if (value > 7)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "the version is a three-bit field (0 to 7)");
            }

            _version = value;
        }
    }

    /// <summary>The association mode (three bits).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value above 7.</exception>
    public NtpMode Mode
    {
        readonly get => _mode;
        set
        {
            if ((byte)value > 7)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "the mode is a three-bit field (0 to 7)");
            }

            _mode = value;
        }
    }

    /// <summary>The stratum: 0 unspecified or kiss-o'-death, 1 primary, 2 to 15 secondary, 16 unsynchronized.</summary>
    public byte Stratum { readonly get; set; }

    /// <summary>The poll interval as a base-2 exponent of seconds.</summary>
    public sbyte Poll { readonly get; set; }

    /// <summary>The precision of the sender's clock as a base-2 exponent of seconds (e.g. -20 for about a microsecond).</summary>
    public sbyte Precision { readonly get; set; }

    /// <summary>Total round-trip delay to the reference clock.</summary>
    public NtpShortFormat RootDelay { readonly get; set; }

    /// <summary>Total dispersion to the reference clock.</summary>
    public NtpShortFormat RootDispersion { readonly get; set; }

    /// <summary>The reference identifier; a kiss code when <see cref="IsKissOfDeath"/>. See <see cref="Protocol.ReferenceId.Format"/>.</summary>
    public uint ReferenceId { readonly get; set; }

    /// <summary>When the sender's clock was last set or corrected.</summary>
    public NtpTimestamp ReferenceTimestamp { readonly get; set; }

    /// <summary>T1: the client's transmit time, echoed by the server so the client can match the response to its request.</summary>
    public NtpTimestamp OriginTimestamp { readonly get; set; }

    /// <summary>T2: when the server received the request.</summary>
    public NtpTimestamp ReceiveTimestamp { readonly get; set; }

    /// <summary>T3: when the sender sent this packet.</summary>
    public NtpTimestamp TransmitTimestamp { readonly get; set; }

    /// <summary>
    /// Whether this is a kiss-o'-death packet: stratum 0 in a packet from a server or peer (RFC 5905 §7.4). The
    /// reference identifier then carries a <see cref="KissCode"/>. Client requests legitimately carry stratum 0
    /// and are never KoD.
    /// </summary>
    public readonly bool IsKissOfDeath =>
        Stratum == 0 && Mode is NtpMode.Server or NtpMode.SymmetricActive or NtpMode.SymmetricPassive or NtpMode.Broadcast;

    /// <summary>Names the meaning of a stratum value (RFC 5905 §7.3, Figure 11).</summary>
    /// <param name="stratum">The stratum.</param>
    /// <returns>A short description.</returns>
    public static string StratumMeaning(byte stratum) => stratum switch
    {
        0 => "unspecified or invalid (kiss-o'-death in a server packet)",
        1 => "primary server (synchronized to a reference clock)",
        <= 15 => "secondary server (synchronized over NTP)",
        16 => "unsynchronized",
        _ => "reserved",
    };

    /// <summary>
    /// Parses the header of an NTP datagram (versions 1 to 4). Never throws. Only the first 48 bytes are read:
    /// use <see cref="NtpPacketLayout.TryParse(ReadOnlySpan{byte}, out NtpPacketLayout)"/> to validate what follows.
    /// </summary>
    /// <param name="datagram">The received datagram.</param>
    /// <param name="header">The header; default unless the result is <see cref="NtpParseStatus.Ok"/>.</param>
    /// <returns><see cref="NtpParseStatus.Ok"/>, or why the datagram is not an NTP time packet.</returns>
    public static NtpParseStatus TryRead(ReadOnlySpan<byte> datagram, out NtpPacketHeader header)
    {
        header = default;
        if (datagram.Length < Size)
        {
            return NtpParseStatus.TooShort;
        }

        byte first = datagram[0];
        byte version = (byte)((first >> 3) & 7);
        var mode = (NtpMode)(first & 7);
        if (version is 0 or > CurrentVersion)
        {
            return NtpParseStatus.UnsupportedVersion;
        }

        if (mode is NtpMode.Control or NtpMode.Private)
        {
            return NtpParseStatus.UnsupportedMode;
        }

        // RFC 1059 (NTPv1) has no mode field; those bits are zero and ntpd infers client or symmetric
        // mode from the source port. From NTPv2 on, mode 0 is reserved (RFC 5905 §7.3).
        if (mode == NtpMode.Reserved && version != 1)
        {
            return NtpParseStatus.InvalidMode;
        }

        header._leap = (LeapIndicator)(first >> 6);
        header._version = version;
        header._mode = mode;
        header.Stratum = datagram[1];
        header.Poll = (sbyte)datagram[2];
        header.Precision = (sbyte)datagram[3];
        header.RootDelay = new NtpShortFormat(BinaryPrimitives.ReadUInt32BigEndian(datagram.Slice(4)));
        header.RootDispersion = new NtpShortFormat(BinaryPrimitives.ReadUInt32BigEndian(datagram.Slice(8)));
        header.ReferenceId = BinaryPrimitives.ReadUInt32BigEndian(datagram.Slice(12));
        header.ReferenceTimestamp = NtpTimestamp.Read(datagram.Slice(16));
        header.OriginTimestamp = NtpTimestamp.Read(datagram.Slice(24));
        header.ReceiveTimestamp = NtpTimestamp.Read(datagram.Slice(32));
        header.TransmitTimestamp = NtpTimestamp.Read(datagram.Slice(40));
        return NtpParseStatus.Ok;
    }

    /// <summary>Parses the header, throwing on malformed input. For tools and the CLI; the packet path uses <see cref="TryRead"/>.</summary>
    /// <param name="datagram">The datagram.</param>
    /// <returns>The header.</returns>
    /// <exception cref="NtpFormatException">The datagram is not an NTP time packet of version 1 to 4.</exception>
    public static NtpPacketHeader Read(ReadOnlySpan<byte> datagram)
    {
        NtpParseStatus status = TryRead(datagram, out NtpPacketHeader header);
        if (status != NtpParseStatus.Ok)
        {
            ThrowHelper.ThrowNtpFormatException(status, 0, datagram);
        }

        return header;
    }

    /// <summary>Writes the 48-byte header big-endian.</summary>
    /// <param name="destination">The send buffer.</param>
    /// <param name="written">48 on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is shorter than 48 bytes.</returns>
    public readonly bool TryWrite(Span<byte> destination, out int written)
    {
        if (destination.Length < Size)
        {
            written = 0;
            return false;
        }

        destination[0] = (byte)(((byte)_leap << 6) | (_version << 3) | (byte)_mode);
        destination[1] = Stratum;
        destination[2] = (byte)Poll;
        destination[3] = (byte)Precision;
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(4), RootDelay.Value);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(8), RootDispersion.Value);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(12), ReferenceId);
        ReferenceTimestamp.Write(destination.Slice(16));
        OriginTimestamp.Write(destination.Slice(24));
        ReceiveTimestamp.Write(destination.Slice(32));
        TransmitTimestamp.Write(destination.Slice(40));
        written = Size;
        return true;
    }
}
