using System.Buffers.Binary;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
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
}

/// <summary>
/// The NTP server's protocol logic with no socket (Garnet-style): a request datagram and its receive time in,
/// a response datagram out. Transports and benchmarks drive it directly; it allocates nothing per request.
/// </summary>
public sealed class NtpServerEngine
{
    /// <summary>Largest response the engine builds: header plus the longest MAC.</summary>
    public const int MaxResponseSize = NtpPacketHeader.Size + 4 + 20;

    private readonly ISystemClock _clock;
    private KeyRing? _keys;
    private readonly AccessRules _access;
    private readonly bool _cryptoNak;
    private readonly Func<NtpTimestamp, ReferenceState> _reference;

    /// <summary>Creates an engine.</summary>
    /// <param name="clock">Where transmit timestamps are read from.</param>
    /// <param name="keys">Symmetric keys for authenticated requests; null when no key file is configured.</param>
    /// <param name="access">Which client addresses are served.</param>
    /// <param name="cryptoNak">Answer unknown-key and bad-MAC requests with a crypto-NAK instead of dropping them.</param>
    /// <param name="reference">The synchronization state to advertise, given the current time.</param>
    public NtpServerEngine(ISystemClock clock, KeyRing? keys, AccessRules access, bool cryptoNak, Func<NtpTimestamp, ReferenceState> reference)
    {
        _clock = clock;
        _keys = keys;
        _access = access;
        _cryptoNak = cryptoNak;
        _reference = reference;
    }

    /// <summary>
    /// Replaces the key ring (SIGHUP reload). Workers pick up the new ring on their next request; a request
    /// already being processed finishes with the old one, which is therefore not disposed here: its keys are
    /// released by their SafeHandles' finalizers once no worker holds them.
    /// </summary>
    public void ReplaceKeys(KeyRing? keys) => Volatile.Write(ref _keys, keys);

    /// <summary>Counters for monitoring.</summary>
    public ServerCounters Counters { get; } = new();

    /// <summary>
    /// Processes one request. <paramref name="clientAddress"/> is the 128-bit address (IPv4-mapped for IPv4)
    /// used for access control. Returns the response length in <paramref name="response"/>, or 0 to drop.
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

        int length = WriteResponse(header, receiveTime, response);
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

        Counters.CountResponded();
        return length;
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
        int length = WriteResponse(request, receiveTime, response);
        BinaryPrimitives.WriteUInt32BigEndian(response[length..], 0);
        Counters.CountCryptoNak();
        Counters.CountResponded();
        outcome = ServerOutcome.RespondedCryptoNak;
        return length + 4;
    }

    private int WriteResponse(in NtpPacketHeader request, NtpTimestamp receiveTime, Span<byte> response)
    {
        ReferenceState reference = _reference(receiveTime);
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
        header.TransmitTimestamp = _clock.NtpNow;
        header.TryWrite(response, out int written);
        return written;
    }
}
