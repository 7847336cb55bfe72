using System.Net;
using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.AotBench;

/// <summary>
/// The server engine as tempusd runs it behind its UDP socket (<see cref="NtpServerEngine.Process"/>), with the
/// client on 127.0.0.1, allowed by <c>allow 127.0.0.0/8</c>, and a local stratum-2 reference.
/// </summary>
internal static class EngineSetup
{
    /// <summary>127.0.0.1 as the IPv4-mapped IPv6 address the transport hands the engine.</summary>
    public static readonly UInt128 Client = ((UInt128)0xffff << 32) | 0x7F000001;

    /// <summary>
    /// Big enough for any response: a plain or MAC'd one is at most <see cref="NtpServerEngine.MaxResponseSize"/>,
    /// an NTS one at most as long as its request (RFC 8915 §5.7), which a client keeps under 1280 bytes.
    /// </summary>
    public const int ResponseBufferSize = 2048;

    public static NtpServerEngine Create(FixedClock clock, KeyRing? keys, NtsServerKeyRing? ntsKeys)
    {
        var access = new AccessRules();
        access.Add(true, false, IPNetwork.Parse("127.0.0.0/8"));
        return new NtpServerEngine(clock, keys, access, false, now => ReferenceState.Local(2, now), ntsKeys);
    }
}

/// <summary>A mode-3 request, plain (48 bytes) or with a MAC under a symmetric key (RFC 5905 §7.3, RFC 8573).</summary>
internal sealed class NtpRequestCase : BenchCase
{
    private readonly FixedClock _clock;
    private readonly NtpServerEngine _engine;
    private readonly SymmetricKey? _key;
    private readonly byte[] _request;
    private readonly byte[] _response = new byte[EngineSetup.ResponseBufferSize];
    private readonly NtpTimestamp _transmit = new(0x0123456789ABCDEF);

    public NtpRequestCase(string name, string description, FixedClock clock, SymmetricKey? key)
    {
        Name = name;
        Description = description;
        _clock = clock;
        _key = key;
        _engine = EngineSetup.Create(clock, key is null ? null : new KeyRing([key]), null);

        var header = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = 4,
            Mode = NtpMode.Client,
            Poll = 6,
            Precision = -20,
            TransmitTimestamp = _transmit,
        };
        byte[] buffer = new byte[NtpPacketHeader.Size + 4 + 64];
        header.TryWrite(buffer, out int length);
        if (key is not null)
        {
            length += key.WriteMac(buffer.AsSpan(0, length), buffer.AsSpan(length));
        }

        _request = buffer[..length];
    }

    public override string Name { get; }

    public override string Description { get; }

    public override int InputLength => _request.Length;

    public override string? Verify()
    {
        int length = _engine.Process(_request, EngineSetup.Client, _clock.NtpNow, _response, out ServerOutcome outcome);
        OutputLength = length;
        ServerOutcome expected = _key is null ? ServerOutcome.Responded : ServerOutcome.RespondedAuthenticated;
        if (outcome != expected)
        {
            return $"the engine's outcome was {outcome}, expected {expected}";
        }

        int expectedLength = NtpPacketHeader.Size + (_key?.MacLength ?? 0);
        if (length != expectedLength)
        {
            return $"the response is {length} bytes, expected {expectedLength}";
        }

        ReadOnlySpan<byte> response = _response.AsSpan(0, length);
        if (NtpPacketLayout.TryParse(response, out NtpPacketLayout layout) is var status && status != NtpParseStatus.Ok)
        {
            return $"the response does not parse: {status}";
        }

        if (layout.Header.Mode != NtpMode.Server || layout.Header.OriginTimestamp != _transmit || layout.Header.Stratum != 2)
        {
            return $"the response header is wrong: mode {layout.Header.Mode}, stratum {layout.Header.Stratum}, origin {layout.Header.OriginTimestamp} for transmit {_transmit}";
        }

        if (_key is not null && !(layout.HasMac && layout.MacKeyId == _key.Id && _key.VerifyDigest(layout.AuthenticatedData, layout.MacDigest)))
        {
            return $"the response's MAC does not verify under key {_key.Id}";
        }

        return null;
    }

    public override void Run(int iterations)
    {
        NtpTimestamp receive = _clock.NtpNow;
        for (int i = 0; i < iterations; i++)
        {
            _engine.Process(_request, EngineSetup.Client, receive, _response, out _);
        }
    }

    public override void Dispose() => _key?.Dispose();
}

/// <summary>
/// An NTS-protected request (RFC 8915 §5.7) as <see cref="NtsNtpRequest"/> builds it from a session that an NTS-KE
/// exchange with this server's key ring would leave: one cookie, a Unique Identifier, placeholders and the
/// authenticator under C2S. The server opens the cookie, verifies the request, and seals 1 + placeholders new
/// cookies under S2C.
/// </summary>
internal sealed class NtsRequestCase : BenchCase
{
    private readonly FixedClock _clock;
    private readonly NtsServerKeyRing _ring;
    private readonly NtpServerEngine _engine;
    private readonly NtsSession _session;
    private readonly NtsNtpRequest _request;
    private readonly byte[] _datagram;
    private readonly int _placeholders;
    private readonly byte[] _response = new byte[EngineSetup.ResponseBufferSize];

    public NtsRequestCase(string name, FixedClock clock, NtsAeadAlgorithm algorithm, int placeholders)
    {
        Name = name;
        _clock = clock;
        _placeholders = placeholders;
        _ring = NtsServerKeyRing.CreateEphemeral(clock, 604800);
        _engine = EngineSetup.Create(clock, null, _ring);
        int keyLength = Crypto.NtsAead.GetKeyLength(algorithm);
        _session = new NtsSession
        {
            KeServer = "127.0.0.1",
            KePort = 4460,
            NtpServer = "127.0.0.1",
            NtpPort = 123,
            Algorithm = algorithm,
            C2SKey = RandomNumberGenerator.GetBytes(keyLength),
            S2CKey = RandomNumberGenerator.GetBytes(keyLength),
            EstablishedUnixNanoseconds = clock.UnixNanoseconds,
        };

        // RFC 8915 §5.7: a client aiming at eight cookies asks for 8 - (cookies left after this one) - 1 more.
        byte[] cookie = new byte[_ring.MaxCookieLength];
        for (int i = 0; i < NtsNtpRequest.TargetCookieCount - placeholders; i++)
        {
            int length = _ring.IssueCookie(algorithm, _session.C2SKey, _session.S2CKey, cookie);
            _session.Cookies.Enqueue(cookie[..length]);
        }

        _request = NtsNtpRequest.Create(_session, -20);
        _datagram = _request.Datagram.ToArray();
        Description = $"NTS AEAD {(int)algorithm}, {placeholders} placeholder{(placeholders == 1 ? "" : "s")}: {placeholders + 1} cookie{(placeholders == 0 ? "" : "s")} back";
    }

    public override string Name { get; }

    public override string Description { get; }

    public override int InputLength => _datagram.Length;

    public override string? Verify()
    {
        if (_request.PlaceholderCount != _placeholders)
        {
            return $"the request carries {_request.PlaceholderCount} placeholders, expected {_placeholders}";
        }

        int length = _engine.Process(_datagram, EngineSetup.Client, _clock.NtpNow, _response, out ServerOutcome outcome);
        OutputLength = length;
        if (outcome != ServerOutcome.RespondedNts)
        {
            return $"the engine's outcome was {outcome}, expected {ServerOutcome.RespondedNts}";
        }

        // The client's own check: origin timestamp, Unique Identifier, authenticator under S2C, cookies taken in.
        NtsResponseStatus status = _request.Accept(_response.AsSpan(0, length), out NtpPacketHeader header);
        if (status != NtsResponseStatus.Accepted)
        {
            return $"the client rejected the response: {status}";
        }

        if (header.Stratum != 2)
        {
            return $"the response says stratum {header.Stratum}, expected 2";
        }

        if (_session.Cookies.Count != NtsNtpRequest.TargetCookieCount)
        {
            return $"the client holds {_session.Cookies.Count} cookies after the response, expected {NtsNtpRequest.TargetCookieCount}";
        }

        return null;
    }

    public override void Run(int iterations)
    {
        NtpTimestamp receive = _clock.NtpNow;
        for (int i = 0; i < iterations; i++)
        {
            _engine.Process(_datagram, EngineSetup.Client, receive, _response, out _);
        }
    }

    public override void Dispose() => _ring.Dispose();
}
