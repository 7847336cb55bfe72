using System.Buffers.Binary;
using System.Security.Cryptography;
using Tempus.Crypto;
using Tempus.Ntp;
using Tempus.Protocol;

namespace Tempus.Nts;

/// <summary>What <see cref="NtsNtpRequest.Accept"/> made of a datagram.</summary>
public enum NtsResponseStatus
{
    /// <summary>An authentic response to this request; its new cookies are in the session.</summary>
    Accepted,

    /// <summary>Not a well-formed NTP or NTS packet.</summary>
    Malformed,

    /// <summary>Not a server response to this request (mode or origin timestamp differ, or the request was already answered).</summary>
    NotMatching,

    /// <summary>The Unique Identifier is missing or is not this request's (RFC 8915 §5.7): a replay or a forgery.</summary>
    UniqueIdentifierMismatch,

    /// <summary>No NTS authenticator, and not a kiss-o'-death: RFC 8915 §5.7 has the client discard it.</summary>
    Unauthenticated,

    /// <summary>The authenticator does not verify under the S2C key.</summary>
    AuthenticationFailed,

    /// <summary>An NTS NAK (kiss code NTSN) with this request's Unique Identifier: run NTS-KE again.</summary>
    NtsNak,

    /// <summary>Another kiss-o'-death with this request's Unique Identifier (RATE, DENY, ...), which RFC 5905 §7.4 has the client obey.</summary>
    KissOfDeath,
}

/// <summary>
/// One NTS-protected client request and the checks on its response (RFC 8915 §5.7), with no socket: build it from
/// an <see cref="NtsSession"/>, send <see cref="Datagram"/>, and pass each datagram that comes back to
/// <see cref="Accept"/>. <see cref="NtsNtpClient"/> does exactly that over UDP.
/// </summary>
/// <remarks>
/// The request takes one cookie out of the session (never sent twice, for unlinkability), asks with placeholders
/// for enough new ones that the session holds eight again, and authenticates everything with the C2S key; the
/// plaintext is empty. A response counts only if it is a server packet echoing our transmit timestamp and Unique
/// Identifier and its authenticator verifies under the S2C key; cookies are taken only from inside the ciphertext.
/// A session is not thread-safe: one request at a time per session.
/// </remarks>
public sealed class NtsNtpRequest
{
    /// <summary>How many unused cookies a client aims to hold (RFC 8915 §5.7).</summary>
    public const int TargetCookieCount = NtsKeLimits.MaxCookies;

    /// <summary>The most placeholders sent (RFC 8915 §5.7: at most seven).</summary>
    public const int MaxPlaceholders = 7;

    /// <summary>
    /// The longest request built: 1280 bytes, the IPv6 minimum MTU, so that placeholders never cause fragmentation
    /// (RFC 8915 §5.7 asks for fewer placeholders when needed).
    /// </summary>
    public const int MaxRequestLength = 1280;

    /// <summary>The Unique Identifier length used: the minimum of RFC 8915 §5.3.</summary>
    public const int UniqueIdentifierLength = 32;

    private readonly NtsSession _session;
    private readonly byte[] _uniqueIdentifier;
    private readonly byte[] _datagram;
    private bool _answered;

    private NtsNtpRequest(NtsSession session, byte[] uniqueIdentifier, byte[] datagram, NtpTimestamp transmit, int placeholders)
    {
        _session = session;
        _uniqueIdentifier = uniqueIdentifier;
        _datagram = datagram;
        TransmitTimestamp = transmit;
        PlaceholderCount = placeholders;
    }

    /// <summary>The datagram to send.</summary>
    public ReadOnlyMemory<byte> Datagram => _datagram;

    /// <summary>The request's transmit timestamp: random, so it reveals nothing about our clock; the response must echo it.</summary>
    public NtpTimestamp TransmitTimestamp { get; }

    /// <summary>The Unique Identifier the response must echo.</summary>
    public ReadOnlySpan<byte> UniqueIdentifier => _uniqueIdentifier;

    /// <summary>How many Cookie Placeholders the request carries.</summary>
    public int PlaceholderCount { get; }

    /// <summary>
    /// Builds a request from <paramref name="session"/>, taking one of its cookies.
    /// </summary>
    /// <param name="session">The NTS session; one cookie is dequeued from it.</param>
    /// <param name="precision">Our clock's precision, for the header.</param>
    /// <returns>The request.</returns>
    /// <exception cref="NtpQueryException"><see cref="NtpQueryError.NtsNoCookies"/>: the session has no cookie left.</exception>
    /// <exception cref="ArgumentException">The session's keys do not fit its algorithm.</exception>
    public static NtsNtpRequest Create(NtsSession session, sbyte precision) =>
        Create(session, precision, RandomNumberGenerator.GetBytes(UniqueIdentifierLength), new NtpTimestamp(BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8))));

    // With a given Unique Identifier and transmit timestamp: for checking captured exchanges.
    internal static NtsNtpRequest Create(NtsSession session, sbyte precision, byte[] uniqueIdentifier, NtpTimestamp transmit)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!session.Cookies.TryDequeue(out byte[]? cookie))
        {
            throw new NtpQueryException(NtpQueryError.NtsNoCookies, $"the NTS session from {session.KeServer}:{session.KePort} has no unused cookie left: run NTS-KE again");
        }

        using NtsAead aead = NtsAead.Create(session.Algorithm, session.C2SKey);

        // RFC 8915 §5.7: with N placeholders the server returns N + 1 cookies; aim to hold eight afterwards.
        int placeholders = Math.Clamp(TargetCookieCount - 1 - session.Cookies.Count, 0, MaxPlaceholders);
        int authenticatorLength = NtsPacketWriter.GetAuthenticatorLength(aead.NonceLength, NtsAead.TagSize, aead.MaxNonceLength);
        while (placeholders > 0 && NtpPacketHeader.Size + NtsPacketWriter.GetRequestFieldsLength(uniqueIdentifier.Length, cookie.Length, placeholders) + authenticatorLength > MaxRequestLength)
        {
            placeholders--;
        }

        int fieldsLength = NtsPacketWriter.GetRequestFieldsLength(uniqueIdentifier.Length, cookie.Length, placeholders);
        byte[] datagram = new byte[NtpPacketHeader.Size + fieldsLength + authenticatorLength];
        var header = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = 4,
            Mode = NtpMode.Client,
            Poll = 6,
            Precision = precision,
            TransmitTimestamp = transmit,
        };
        header.TryWrite(datagram, out int length);
        NtsPacketWriter.TryWriteRequestFields(datagram.AsSpan(length), uniqueIdentifier, cookie, placeholders, out int written);
        length += written;
        NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(length), aead.NonceLength, NtsAead.TagSize, aead.MaxNonceLength, out int nonceOffset, out int ciphertextOffset, out _);
        Span<byte> nonce = datagram.AsSpan(length + nonceOffset, aead.NonceLength);
        RandomNumberGenerator.Fill(nonce);

        // RFC 8915 §5.6: the associated data is the packet up to the authenticator; the plaintext is empty.
        aead.Seal(nonce, datagram.AsSpan(0, length), default, datagram.AsSpan(length + ciphertextOffset, NtsAead.TagSize));
        return new NtsNtpRequest(session, uniqueIdentifier, datagram, transmit, placeholders);
    }

    /// <summary>
    /// Checks a datagram against this request (RFC 8915 §5.7). Only <see cref="NtsResponseStatus.Accepted"/>,
    /// <see cref="NtsResponseStatus.NtsNak"/> and <see cref="NtsResponseStatus.KissOfDeath"/> are answers; anything
    /// else is to be discarded while waiting on. An accepted response adds the cookies from its ciphertext to the
    /// session (up to eight in all) and completes the request: a replay of it is then <see cref="NtsResponseStatus.NotMatching"/>.
    /// </summary>
    /// <param name="datagram">The received datagram.</param>
    /// <param name="header">The response header, when the result is an answer.</param>
    /// <returns>What the datagram is.</returns>
    public NtsResponseStatus Accept(ReadOnlySpan<byte> datagram, out NtpPacketHeader header)
    {
        header = default;
        if (NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout) != NtpParseStatus.Ok)
        {
            return NtsResponseStatus.Malformed;
        }

        // RFC 5905 §8: the origin timestamp must be our transmit timestamp.
        if (_answered || layout.Header.Mode != NtpMode.Server || layout.Header.OriginTimestamp != TransmitTimestamp)
        {
            return NtsResponseStatus.NotMatching;
        }

        NtsParseStatus status = NtsPacketReader.TryRead(layout, out NtsPacketInfo info);
        if (status == NtsParseStatus.NoNtsFields)
        {
            // RFC 8915 §5.7: an unprotected response to an NTS request is discarded, KoD included, since only the
            // Unique Identifier ties a KoD to our request.
            return layout.Header.IsKissOfDeath ? NtsResponseStatus.UniqueIdentifierMismatch : NtsResponseStatus.Unauthenticated;
        }

        if (status != NtsParseStatus.Ok)
        {
            return NtsResponseStatus.Malformed;
        }

        if (!CryptographicOperations.FixedTimeEquals(info.UniqueIdentifier, _uniqueIdentifier))
        {
            return NtsResponseStatus.UniqueIdentifierMismatch;
        }

        if (!info.HasAuthenticator)
        {
            if (!layout.Header.IsKissOfDeath)
            {
                return NtsResponseStatus.Unauthenticated;
            }

            header = layout.Header;
            _answered = true;
            return header.ReferenceId == KissCode.Ntsn ? NtsResponseStatus.NtsNak : NtsResponseStatus.KissOfDeath;
        }

        byte[] plaintext = new byte[info.Ciphertext.Length - NtsAead.TagSize];
        using (NtsAead aead = NtsAead.Create(_session.Algorithm, _session.S2CKey))
        {
            if (!aead.TryOpen(info.Nonce, info.AssociatedData, info.Ciphertext, plaintext))
            {
                return NtsResponseStatus.AuthenticationFailed;
            }
        }

        header = layout.Header;
        _answered = true;
        if (header.IsKissOfDeath)
        {
            return NtsResponseStatus.KissOfDeath;
        }

        // RFC 8915 §5.7: cookies from the server count only when encrypted; a cookie before the authenticator
        // (info.Cookie) is authenticated but not encrypted, and fields after it are neither, so both are ignored.
        var reader = new NtsPlaintextReader(plaintext);
        while (reader.TryReadNext(out ExtensionField field, out _))
        {
            if (field.Type == ExtensionFieldType.NtsCookie && field.Value.Length is > 0 and <= NtsKeLimits.MaxRecordBodyLength
                && _session.Cookies.Count < TargetCookieCount)
            {
                _session.Cookies.Enqueue(field.Value.ToArray());
            }
        }

        return NtsResponseStatus.Accepted;
    }
}
