using System.Buffers.Binary;
using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Control;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Protocol;

namespace Tempus.Server;

/// <summary>Why the engine answered or dropped a request; the transport logs non-OK outcomes at Trace only.</summary>
public enum ServerOutcome
{
    /// <summary>A response was built.</summary>
    Responded,

    /// <summary>A response carrying a MAC was built.</summary>
    RespondedAuthenticated,

    /// <summary>A crypto-NAK was built (the request's key was unknown or its MAC bad, and <c>cryptonak</c> is set).</summary>
    RespondedCryptoNak,

    /// <summary>Dropped: not a valid NTP packet.</summary>
    DroppedMalformed,

    /// <summary>Dropped: not a client-mode request.</summary>
    DroppedNotClientMode,

    /// <summary>Dropped: the client address is denied.</summary>
    DroppedDenied,

    /// <summary>Dropped: the MAC names a key that is not in the key file or not trusted.</summary>
    DroppedUnknownKey,

    /// <summary>Dropped: the MAC does not verify.</summary>
    DroppedBadMac,

    /// <summary>An NTS request was answered with fresh cookies under the S2C key (RFC 8915 §5.7).</summary>
    RespondedNts,

    /// <summary>An NTS NAK was sent: the request's cookie was not one this server can open (RFC 8915 §5.7).</summary>
    RespondedNtsNak,

    /// <summary>Dropped: NTS extension fields that are malformed, incomplete (no cookie or authenticator) or short of nonce room (RFC 8915 §5.6).</summary>
    DroppedNtsMalformed,

    /// <summary>Dropped: an NTS request to a server without NTS (no key ring), as chrony does.</summary>
    DroppedNtsDisabled,

    /// <summary>Dropped: the cookie opened but the authenticator did not verify under its C2S key.</summary>
    DroppedNtsBadAuthenticator,

    /// <summary>Dropped by <c>ratelimit</c>: the client sends faster than its token bucket allows.</summary>
    DroppedRateLimited,

    /// <summary>Answered with a Kiss-o'-Death RATE (<c>ratelimit ... kod</c>), authenticated like the request.</summary>
    RespondedRateKod,
}

/// <summary>
/// The NTP server's protocol logic with no socket (Garnet-style): a request datagram and its receive time in,
/// a response datagram out. Transports and benchmarks drive it directly; it allocates nothing per request,
/// NTS requests included (after each worker thread's first one, which creates its AEAD contexts).
/// </summary>
/// <remarks>
/// NTS (RFC 8915 §5): a mode-3 request carrying a Unique Identifier, an NTS Cookie and an authenticator is opened
/// with the <see cref="NtsServerKeyRing"/>; a cookie the ring cannot open gets an NTS NAK, a bad authenticator is
/// dropped, and a good request is answered with the Unique Identifier echoed and 1 + placeholders fresh cookies
/// sealed under the S2C key, as many as fit in the request's length. Without a key ring NTS requests are dropped,
/// as chrony drops them: a NAK would send clients back to an NTS-KE server that points them here again, and a
/// plain answer is one RFC 8915 §5.7 makes them discard.
/// </remarks>
public sealed class NtpServerEngine
{
    /// <summary>Largest response to a request without NTS: header plus the longest MAC.</summary>
    public const int MaxResponseSize = NtpPacketHeader.Size + 4 + 20;

    // The longest NTS plaintext built: bounded by the request, which a UDP datagram bounds.
    private const int MaxNtsPlaintext = 65536;

    private readonly ISystemClock _clock;
    private KeyRing? _keys;
    private readonly AccessRules _access;
    private readonly bool _cryptoNak;
    private readonly Func<NtpTimestamp, ReferenceState> _reference;
    private readonly NtsServerKeyRing? _ntsKeys;
    private readonly ClientLog? _clientLog;

    /// <summary>Creates an engine.</summary>
    /// <param name="clock">Where transmit timestamps are read from.</param>
    /// <param name="keys">Symmetric keys for authenticated requests; null when no key file is configured.</param>
    /// <param name="access">Which client addresses are served.</param>
    /// <param name="cryptoNak">Answer unknown-key and bad-MAC requests with a crypto-NAK instead of dropping them.</param>
    /// <param name="reference">The synchronization state to advertise, given the current time.</param>
    /// <param name="ntsKeys">The NTS master keys that open request cookies and seal new ones; null serves no NTS.</param>
    /// <param name="clientLog">The client table that counts clients and applies <c>ratelimit</c>; null under <c>noclientlog</c>.</param>
    public NtpServerEngine(ISystemClock clock, KeyRing? keys, AccessRules access, bool cryptoNak, Func<NtpTimestamp, ReferenceState> reference, NtsServerKeyRing? ntsKeys = null, ClientLog? clientLog = null)
    {
        _clientLog = clientLog;
        _clock = clock;
        _keys = keys;
        _access = access;
        _cryptoNak = cryptoNak;
        _reference = reference;
        _ntsKeys = ntsKeys;
    }

    /// <summary>
    /// Replaces the key ring (SIGHUP reload). Workers pick up the new ring on their next request; a request
    /// already being processed finishes with the old one, which is therefore not disposed here: its keys are
    /// released by their SafeHandles' finalizers once no worker holds them.
    /// </summary>
    public void ReplaceKeys(KeyRing? keys) => Volatile.Write(ref _keys, keys);

    /// <summary>Counters for monitoring.</summary>
    public ServerCounters Counters { get; } = new();

    /// <summary>The client table, or null under <c>noclientlog</c>.</summary>
    public ClientLog? ClientLog => _clientLog;

    /// <summary>
    /// What <c>tempusctl serverstats</c> shows, from the engine's counters, the client table and the NTS-KE server's
    /// counters (null without an NTS-KE server). Command packets are the control server's to fill in.
    /// </summary>
    public ServerStatsReport GetServerStats(NtsKeServerCounters? ntsKe = null) => new()
    {
        NtpPacketsReceived = Counters.Received,
        NtpPacketsDropped = Counters.Dropped,
        ClientLogRecordsDropped = _clientLog?.RecordsDropped ?? 0,
        NtsKeConnectionsAccepted = ntsKe?.ConnectionsAccepted ?? 0,
        // Refused over maxntsconnections, and closed by ntsratelimit before being counted as accepted.
        NtsKeConnectionsDropped = (ntsKe?.ConnectionsRejected ?? 0) + (_clientLog?.NtsKeDrops ?? 0),
        AuthenticatedNtpPackets = Counters.Authenticated + Counters.NtsAuthenticated,
        InterleavedNtpPackets = 0,
        NtpResponsesSent = Counters.Responded,
        RateLimitKods = Counters.RateKods,
        NtsNaks = Counters.NtsNaksSent,
    };

    /// <summary>
    /// Processes one request. <paramref name="clientAddress"/> is the 128-bit address (IPv4-mapped for IPv4)
    /// used for access control. Returns the response length in <paramref name="response"/>, or 0 to drop.
    /// <paramref name="response"/> must hold <see cref="MaxResponseSize"/> bytes, and must not overlap
    /// <paramref name="request"/>; an NTS response is never longer than its request nor than
    /// <paramref name="response"/>, so a buffer as long as the receive buffer gets every cookie asked for.
    /// </summary>
    public int Process(ReadOnlySpan<byte> request, UInt128 clientAddress, NtpTimestamp receiveTime, Span<byte> response, out ServerOutcome outcome)
    {
        Counters.CountReceived();
        if (NtpPacketLayout.TryParse(request, out NtpPacketLayout layout) != NtpParseStatus.Ok || layout.IsCryptoNak)
        {
            Counters.CountMalformed();
            outcome = ServerOutcome.DroppedMalformed;
            return 0;
        }

        NtpPacketHeader header = layout.Header;
        if (header.Mode != NtpMode.Client)
        {
            Counters.CountNotClientMode();
            outcome = ServerOutcome.DroppedNotClientMode;
            return 0;
        }

        if (!_access.IsAllowed(clientAddress))
        {
            Counters.CountDenied();
            outcome = ServerOutcome.DroppedDenied;
            return 0;
        }

        // chrony: clients are logged and rate limited after the access check and before authentication, so a flood
        // of bad MACs or cookies costs no crypto once over the limit.
        bool kod = false;
        if (_clientLog is not null)
        {
            RateLimitDecision limit = _clientLog.LogNtpAccess(clientAddress, receiveTime);
            if (limit == RateLimitDecision.Drop)
            {
                Counters.CountRateLimited();
                outcome = ServerOutcome.DroppedRateLimited;
                return 0;
            }

            kod = limit == RateLimitDecision.Kod;
        }

        // RFC 8915 §5: NTS fields make an NTS request; a packet with a MAC is a symmetric-key one (the two are
        // never combined, and a MAC after an NTS authenticator could not be told from an extension field anyway).
        if (!layout.HasMac && layout.ExtensionFieldCount > 0)
        {
            NtsParseStatus nts = NtsPacketReader.TryRead(layout, out NtsPacketInfo info);
            if (nts == NtsParseStatus.Ok)
            {
                if (info.HasCookie || info.HasAuthenticator)
                {
                    return ProcessNts(request, header, info, receiveTime, kod, response, out outcome);
                }

                // RFC 8915 §5.3: a Unique Identifier may come alone, without NTS, and is echoed all the same.
                int plain = WriteResponse(header, receiveTime, kod, response);
                if (NtsPacketWriter.TryWriteUniqueIdentifier(response[plain..], info.UniqueIdentifier, out int uidLength))
                {
                    plain += uidLength;
                }

                Counters.CountResponded();
                outcome = kod ? CountKod() : ServerOutcome.Responded;
                return plain;
            }

            if (nts != NtsParseStatus.NoNtsFields)
            {
                Counters.CountNtsRequest();
                Counters.CountNtsMalformed();
                outcome = ServerOutcome.DroppedNtsMalformed;
                return 0;
            }
        }

        SymmetricKey? key = null;
        if (layout.HasMac)
        {
            // RFC 5905 §9.2 / chrony: an unknown key or a bad MAC gets no answer (a crypto-NAK only if asked for).
            KeyRing? keys = Volatile.Read(ref _keys);
            if (keys is null || !keys.TryGetKey(layout.MacKeyId, out key!))
            {
                Counters.CountUnknownKey();
                return Refuse(header, receiveTime, response, ServerOutcome.DroppedUnknownKey, out outcome);
            }

            if (layout.MacDigest.Length != key.DigestLength || !key.VerifyDigest(layout.AuthenticatedData, layout.MacDigest))
            {
                Counters.CountBadMac();
                return Refuse(header, receiveTime, response, ServerOutcome.DroppedBadMac, out outcome);
            }
        }

        int length = WriteResponse(header, receiveTime, kod, response);
        if (key is not null)
        {
            length += key.WriteMac(response[..length], response[length..]);
            Counters.CountAuthenticated();
            outcome = ServerOutcome.RespondedAuthenticated;
        }
        else
        {
            outcome = ServerOutcome.Responded;
        }

        if (kod)
        {
            outcome = CountKod();
        }

        Counters.CountResponded();
        return length;
    }

    // RFC 8915 §5.7: open the cookie, authenticate with C2S, answer with the Unique Identifier echoed and fresh
    // cookies sealed under S2C. Every length comes from the reader, which checked it against the datagram.
    private int ProcessNts(ReadOnlySpan<byte> request, in NtpPacketHeader header, scoped in NtsPacketInfo info, NtpTimestamp receiveTime, bool kod, Span<byte> response, out ServerOutcome outcome)
    {
        Counters.CountNtsRequest();
        if (!info.HasCookie || !info.HasAuthenticator)
        {
            Counters.CountNtsMalformed();
            outcome = ServerOutcome.DroppedNtsMalformed;
            return 0;
        }

        NtsServerKeyRing? ring = _ntsKeys;
        if (ring is null)
        {
            Counters.CountNtsDisabled();
            outcome = ServerOutcome.DroppedNtsDisabled;
            return 0;
        }

        Span<byte> keys = stackalloc byte[128];
        try
        {
            if (!ring.TryOpenCookie(info.Cookie, keys, out NtsAeadAlgorithm algorithm, out int keyLength))
            {
                Counters.CountNtsBadCookie();
                if (kod)
                {
                    // chrony: one response carries one kiss code; with both NTSN and RATE due, nothing is sent
                    // (counted once, as the bad cookie it is).
                    outcome = ServerOutcome.DroppedRateLimited;
                    return 0;
                }

                return WriteNtsNak(header, info.UniqueIdentifier, receiveTime, request.Length, response, out outcome);
            }

            ReadOnlySpan<byte> c2s = keys[..keyLength];
            ReadOnlySpan<byte> s2c = keys.Slice(keyLength, keyLength);
            NtsThreadState state = NtsThreadState.Current;
            NtsAead aead = state.Rent(algorithm, c2s);

            // RFC 8915 §5.6: servers MUST discard requests that leave too little room for the response's nonce.
            if (!info.HasRequiredNoncePadding(aead.MaxNonceLength))
            {
                Counters.CountNtsMalformed();
                outcome = ServerOutcome.DroppedNtsMalformed;
                return 0;
            }

            Span<byte> requestPlaintext = state.Scratch(info.Ciphertext.Length - NtsAead.TagSize);
            if (!aead.TryOpen(info.Nonce, info.AssociatedData, info.Ciphertext, requestPlaintext))
            {
                Counters.CountNtsBadAuthenticator();
                outcome = ServerOutcome.DroppedNtsBadAuthenticator;
                return 0;
            }

            // RFC 8915 §5.7: placeholders may also be encrypted; they count when as long as the cookie.
            int placeholders = info.CookiePlaceholderCount;
            var inner = new NtsPlaintextReader(requestPlaintext);
            while (inner.TryReadNext(out ExtensionField field, out _))
            {
                if (field.Type == ExtensionFieldType.NtsCookiePlaceholder && field.Value.Length == info.CookieLength)
                {
                    placeholders++;
                }
            }

            int length = WriteResponse(header, receiveTime, kod, response);
            NtsPacketWriter.TryWriteUniqueIdentifier(response[length..], info.UniqueIdentifier, out int uidLength);
            length += uidLength;

            // RFC 8915 §5.7: one cookie plus one per placeholder, and (§5.5, §8.4) never a response longer than its
            // request; cookies are dropped from the end until it fits.
            int cookieLength = NtsServerKeyRing.GetCookieLength(algorithm);
            int cookieField = ExtensionFieldWriter.GetPaddedLength(cookieLength);
            int nonceLength = aead.NonceLength;
            int limit = Math.Min(request.Length, response.Length);
            int cookies = placeholders + 1;
            while (cookies > 0 && length + NtsPacketWriter.GetAuthenticatorLength(nonceLength, NtsAead.TagSize + (cookies * cookieField)) > limit)
            {
                cookies--;
            }

            if (length + NtsPacketWriter.GetAuthenticatorLength(nonceLength, NtsAead.TagSize) > limit)
            {
                Counters.CountNtsMalformed();
                outcome = ServerOutcome.DroppedNtsMalformed;
                return 0;
            }

            Span<byte> plaintext = state.Scratch(cookies * cookieField);
            for (int i = 0; i < cookies; i++)
            {
                ExtensionFieldWriter.TryWriteHeader(plaintext[(i * cookieField)..], ExtensionFieldType.NtsCookie, cookieLength, ExtensionFieldReader.MinFieldLength, out _);
            }

            ring.IssueCookies(algorithm, c2s, s2c, plaintext, cookies, cookieField, ExtensionField.HeaderSize);

            int authenticator = length;
            NtsPacketWriter.TryWriteAuthenticatorHeader(response[authenticator..], nonceLength, plaintext.Length + NtsAead.TagSize, out int nonceOffset, out int ciphertextOffset, out int authenticatorLength);
            Span<byte> nonce = response.Slice(authenticator + nonceOffset, nonceLength);
            NonceSource.Current.Fill(nonce);
            aead.SetKey(s2c);
            aead.Seal(nonce, response[..authenticator], plaintext, response.Slice(authenticator + ciphertextOffset, plaintext.Length + NtsAead.TagSize));
            length += authenticatorLength;

            Counters.CountNtsAuthenticated();
            Counters.CountResponded();
            outcome = kod ? CountKod() : ServerOutcome.RespondedNts;
            return length;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keys);
        }
    }

    // RFC 8915 §5.7: a kiss-o'-death NTSN with the Unique Identifier echoed and no cookie or authenticator, so the
    // client can match it to its request and run NTS-KE again.
    private int WriteNtsNak(in NtpPacketHeader request, ReadOnlySpan<byte> uniqueIdentifier, NtpTimestamp receiveTime, int requestLength, Span<byte> response, out ServerOutcome outcome)
    {
        int limit = Math.Min(requestLength, response.Length);
        if (NtpPacketHeader.Size + ExtensionFieldWriter.GetPaddedLength(uniqueIdentifier.Length) > limit)
        {
            // Only with a response buffer shorter than the request; counted as a bad cookie without a NAK.
            outcome = ServerOutcome.DroppedNtsMalformed;
            return 0;
        }

        var header = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = request.Version,
            Mode = NtpMode.Server,
            Stratum = 0,
            Poll = request.Poll,
            Precision = _clock.Precision,
            ReferenceId = KissCode.Ntsn,
            OriginTimestamp = request.TransmitTimestamp,
            ReceiveTimestamp = receiveTime,
            TransmitTimestamp = TransmitTime(receiveTime),
        };
        header.TryWrite(response, out int length);
        NtsPacketWriter.TryWriteUniqueIdentifier(response[length..], uniqueIdentifier, out int written);
        Counters.CountNtsNak();
        Counters.CountResponded();
        outcome = ServerOutcome.RespondedNtsNak;
        return length + written;
    }

    private int Refuse(in NtpPacketHeader request, NtpTimestamp receiveTime, Span<byte> response, ServerOutcome dropped, out ServerOutcome outcome)
    {
        if (!_cryptoNak)
        {
            outcome = dropped;
            return 0;
        }

        // RFC 5905 §7.5: a crypto-NAK is a response whose MAC is a single zero key id; the client matches it
        // to its request through the origin timestamp.
        int length = WriteResponse(request, receiveTime, kod: false, response);
        BinaryPrimitives.WriteUInt32BigEndian(response[length..], 0);
        Counters.CountCryptoNak();
        Counters.CountResponded();
        outcome = ServerOutcome.RespondedCryptoNak;
        return length + 4;
    }

    private ServerOutcome CountKod()
    {
        Counters.CountRateKod();
        return ServerOutcome.RespondedRateKod;
    }

    // RFC 5905 §7.4: a kiss-o'-death is stratum 0 with the code in the reference id; chrony also sets leap 3 and
    // clears the reference time and root distance, and keeps the timestamps so the client matches it to its request.
    private int WriteResponse(in NtpPacketHeader request, NtpTimestamp receiveTime, bool kod, Span<byte> response)
    {
        ReferenceState reference = kod
            ? new ReferenceState(LeapIndicator.Unsynchronized, 0, KissCode.Rate, NtpTimestamp.Zero, default, default)
            : _reference(receiveTime);
        var header = new NtpPacketHeader
        {
            Leap = reference.Leap,
            // RFC 5905 §9.2: the reply carries the request's version so older clients understand it.
            Version = request.Version,
            Mode = NtpMode.Server,
            Stratum = reference.Stratum,
            Poll = request.Poll,
            Precision = _clock.Precision,
            RootDelay = reference.RootDelay,
            RootDispersion = reference.RootDispersion,
            ReferenceId = reference.ReferenceId,
            ReferenceTimestamp = reference.ReferenceTime,
            OriginTimestamp = request.TransmitTimestamp,
            ReceiveTimestamp = receiveTime,
        };

        // The transmit timestamp is read last, just before the bytes are complete, to keep T3 as late as possible.
        header.TransmitTimestamp = TransmitTime(receiveTime);
        header.TryWrite(response, out int written);
        return written;
    }

    // T3, never before T2. T2 is the kernel's stamp from the CPU that took the packet in, T3 a clock read on the
    // worker's CPU; on a virtual machine whose vCPUs' TSCs sit a few microseconds apart the read can come out before
    // the stamp, and clients reject a reply that left before it arrived (RFC 5905's sanity checks, chrony's test 3).
    private NtpTimestamp TransmitTime(NtpTimestamp receiveTime)
    {
        NtpTimestamp now = _clock.NtpNow;
        return now - receiveTime < 0 ? receiveTime : now;
    }

    // Per worker thread: one AEAD instance per algorithm, re-keyed for each request's C2S and S2C keys, and a
    // plaintext buffer; created on the thread's first NTS request, then reused with no allocation.
    private sealed class NtsThreadState
    {
        [ThreadStatic]
        private static NtsThreadState? t_current;

        private readonly NtsAead?[] _aeads = new NtsAead?[4];
        private byte[] _scratch = new byte[2048];

        public static NtsThreadState Current => t_current ??= new NtsThreadState();

        public NtsAead Rent(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> key)
        {
            int slot = algorithm switch
            {
                NtsAeadAlgorithm.AesSivCmac256 => 0,
                NtsAeadAlgorithm.AesSivCmac384 => 1,
                NtsAeadAlgorithm.AesSivCmac512 => 2,
                _ => 3,
            };
            NtsAead? aead = _aeads[slot];
            if (aead is null)
            {
                aead = NtsAead.Create(algorithm, key);
                _aeads[slot] = aead;
            }
            else
            {
                aead.SetKey(key);
            }

            return aead;
        }

        public Span<byte> Scratch(int length)
        {
            if (length > _scratch.Length)
            {
                _scratch = new byte[Math.Min(Math.Max(length, _scratch.Length * 2), MaxNtsPlaintext)];
            }

            return _scratch.AsSpan(0, length);
        }
    }
}
