using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Simulation;

/// <summary>How a simulated server behaves.</summary>
public sealed record SimulatedServerOptions
{
    /// <summary>Its clock's error: server time − true time, seconds. A falseticker is a server with a large one.</summary>
    public double ClockErrorSeconds { get; init; }

    /// <summary>How fast its clock gains on true time, ppm, from the start of the simulation.</summary>
    public double ClockFrequencyErrorPpm { get; init; }

    /// <summary>The stratum it advertises (1 = it has a reference clock).</summary>
    public byte Stratum { get; init; } = 1;

    /// <summary>The reference id it advertises (at stratum 1, an ASCII code).</summary>
    public uint ReferenceId { get; init; } = Protocol.ReferenceId.FromAscii("GPS");

    /// <summary>Root delay it advertises, seconds.</summary>
    public double RootDelaySeconds { get; init; }

    /// <summary>Root dispersion it advertises, seconds.</summary>
    public double RootDispersionSeconds { get; init; } = 0.0001;

    /// <summary>
    /// A leap second to insert at this UTC midnight (true time): the server announces it (leap indicator 1) during
    /// <see cref="LeapAnnouncementDays"/> days before, and its clock repeats a second at that midnight, as a server
    /// whose kernel applies it does.
    /// </summary>
    public DateTime? LeapSecondInsertedAt { get; init; }

    /// <summary>How many days before <see cref="LeapSecondInsertedAt"/> the leap second is announced.</summary>
    public int LeapAnnouncementDays { get; init; } = 7;

    /// <summary>When set, every request is answered with this kiss-o'-death code (e.g. <see cref="KissCode.Rate"/>)
    /// instead of the time; settable during a run.</summary>
    public uint? KissCode { get; init; }

    /// <summary>Symmetric keys the server accepts; null for none.</summary>
    public KeyRing? Keys { get; init; }

    /// <summary>Whether it serves NTS (an ephemeral <see cref="NtsServerKeyRing"/> on its own clock).</summary>
    public bool Nts { get; init; }
}

/// <summary>
/// A server in the simulation: the real <see cref="NtpServerEngine"/> on a clock that reads true time plus the
/// server's own error, with the reference state, leap second and kiss-o'-death behaviour its options ask for. NTS
/// key exchange is simulated by issuing a session from its <see cref="NtsServerKeyRing"/> directly (the TLS part of
/// NTS-KE is tested elsewhere), so the NTS packets exchanged afterwards are the real ones.
/// </summary>
public sealed class SimulatedServer : IDisposable
{
    private static readonly UInt128 s_clientAddress = ((UInt128)0xffff << 32) | 0x0A000001;

    private readonly Func<long> _trueNow;
    private readonly long _startTrueNs;
    private readonly long _leapAtTrueNs;
    private readonly NtpServerEngine _engine;
    private readonly ServerClock _clock;

    /// <summary>Creates a server.</summary>
    /// <param name="name">Its name (the network path and the source's name key on it).</param>
    /// <param name="options">Its behaviour.</param>
    /// <param name="trueNow">Reads true time, Unix ns (the simulation's <see cref="SimulatedClock.TrueUnixNanoseconds"/>).</param>
    public SimulatedServer(string name, SimulatedServerOptions options, Func<long> trueNow)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(trueNow);
        Name = name;
        Options = options;
        _trueNow = trueNow;
        _startTrueNs = trueNow();
        _leapAtTrueNs = options.LeapSecondInsertedAt is { } leap ? ToUnixNs(leap) : long.MaxValue;
        _clock = new ServerClock(this);
        var access = new AccessRules();
        access.Add(allow: true, all: true, network: null);
        NtsKeys = options.Nts ? NtsServerKeyRing.CreateEphemeral(_clock, 604_800) : null;
        _engine = new NtpServerEngine(_clock, options.Keys, access, cryptoNak: false, ReferenceAt, NtsKeys);
    }

    /// <summary>The server's name.</summary>
    public string Name { get; }

    /// <summary>Its behaviour; replace it during a run to change what it does (kiss codes, error).</summary>
    public SimulatedServerOptions Options { get; set; }

    /// <summary>The server's clock: true time plus its error (and minus an inserted leap second once past it).</summary>
    public ISystemClock Clock => _clock;

    /// <summary>The NTS master keys, when it serves NTS.</summary>
    public NtsServerKeyRing? NtsKeys { get; }

    /// <summary>Requests answered with the time.</summary>
    public long Responses { get; private set; }

    /// <summary>Requests answered with a kiss-o'-death.</summary>
    public long Kisses { get; private set; }

    /// <summary>NTS key exchanges served.</summary>
    public long KeyExchanges { get; private set; }

    /// <summary>What the engine did with the last request.</summary>
    public ServerOutcome LastOutcome { get; private set; }

    /// <summary>
    /// Answers one request as the server would, at the current true time.
    /// </summary>
    /// <param name="request">The request datagram.</param>
    /// <param name="response">Where the response goes; as long as the request at least.</param>
    /// <returns>The response's length, or 0 when the request is dropped.</returns>
    public int Respond(ReadOnlySpan<byte> request, Span<byte> response)
    {
        NtpTimestamp receive = _clock.NtpNow;
        if (Options.KissCode is { } kiss)
        {
            int length = Kiss(request, response, kiss, receive);
            Kisses += length > 0 ? 1 : 0;
            return length;
        }

        int written = _engine.Process(request, s_clientAddress, receive, response, out ServerOutcome outcome);
        LastOutcome = outcome;
        Responses += written > 0 ? 1 : 0;
        return written;
    }

    /// <summary>
    /// The NTS-KE exchange's outcome without the TLS (RFC 8915 §4): fresh C2S/S2C keys and
    /// <paramref name="cookies"/> cookies sealed under the server's current master key.
    /// </summary>
    /// <param name="algorithm">The AEAD negotiated.</param>
    /// <param name="cookies">How many cookies to issue (RFC 8915 §4.1.6: servers send eight).</param>
    /// <returns>The session for the client's <c>NtsAuthenticator</c>.</returns>
    /// <exception cref="InvalidOperationException">The server does not serve NTS.</exception>
    public NtsSession IssueNtsSession(NtsAeadAlgorithm algorithm = NtsAeadAlgorithm.AesSivCmac256, int cookies = 8)
    {
        NtsServerKeyRing ring = NtsKeys ?? throw new InvalidOperationException($"simulated server {Name} does not serve NTS");
        int keyLength = NtsAead.GetKeyLength(algorithm);
        var session = new NtsSession
        {
            KeServer = Name,
            KePort = 4460,
            NtpServer = Name,
            NtpPort = 123,
            Algorithm = algorithm,
            C2SKey = RandomNumberGenerator.GetBytes(keyLength),
            S2CKey = RandomNumberGenerator.GetBytes(keyLength),
            EstablishedUnixNanoseconds = _clock.UnixNanoseconds,
        };

        byte[] buffer = new byte[ring.MaxCookieLength];
        for (int i = 0; i < cookies; i++)
        {
            int length = ring.IssueCookie(algorithm, session.C2SKey, session.S2CKey, buffer);
            session.Cookies.Enqueue(buffer[..length]);
        }

        KeyExchanges++;
        return session;
    }

    /// <inheritdoc/>
    public void Dispose() => NtsKeys?.Dispose();

    private long ServerNowNs()
    {
        long trueNs = _trueNow();
        double error = Options.ClockErrorSeconds + Options.ClockFrequencyErrorPpm * 1e-6 * ((trueNs - _startTrueNs) / 1e9);
        long leap = trueNs >= _leapAtTrueNs ? 1_000_000_000L : 0;
        return trueNs + (long)Math.Round(error * 1e9) - leap;
    }

    private ReferenceState ReferenceAt(NtpTimestamp now)
    {
        long trueNs = _trueNow();
        bool announcing = trueNs < _leapAtTrueNs && _leapAtTrueNs - trueNs <= Options.LeapAnnouncementDays * 86_400L * 1_000_000_000L;

        // The reference time: the last update of a stratum-1 server is recent; 16 s ago is what a 16 s poll of its
        // reference clock would give.
        return new ReferenceState(
            announcing ? LeapIndicator.InsertSecond : LeapIndicator.NoWarning,
            Options.Stratum,
            Options.ReferenceId,
            now.Add(NtpTimestamp.SecondsToFixed(-16)),
            NtpShortFormat.FromSeconds(Options.RootDelaySeconds),
            NtpShortFormat.FromSeconds(Options.RootDispersionSeconds));
    }

    // RFC 5905 §7.4: a kiss-o'-death is a server-mode packet with stratum 0 and the code in the reference id; it
    // echoes the request's transmit timestamp as origin so the client can match it.
    private static int Kiss(ReadOnlySpan<byte> request, Span<byte> response, uint code, NtpTimestamp now)
    {
        if (NtpPacketHeader.TryRead(request, out NtpPacketHeader header) != NtpParseStatus.Ok || header.Mode != NtpMode.Client)
        {
            return 0;
        }

        var kiss = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = header.Version,
            Mode = NtpMode.Server,
            Stratum = 0,
            Poll = header.Poll,
            Precision = -20,
            ReferenceId = code,
            OriginTimestamp = header.TransmitTimestamp,
            ReceiveTimestamp = now,
            TransmitTimestamp = now,
        };
        return kiss.TryWrite(response, out int written) ? written : 0;
    }

    private static long ToUnixNs(DateTime utc) => (utc.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;

    private sealed class ServerClock(SimulatedServer owner) : ISystemClock
    {
        public long UnixNanoseconds => owner.ServerNowNs();

        public sbyte Precision => -23;

        public NtpTimestamp NtpNow => NtpTimestamp.FromUnixTimeNanoseconds(owner.ServerNowNs());
    }
}
