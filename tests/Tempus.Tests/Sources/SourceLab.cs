using System.Net;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;
using Tempus.Sources;

namespace Tempus.Tests.Sources;

/// <summary>A clock read through a function: the lab's local or server clock.</summary>
internal sealed class LabClock(Func<long> read, sbyte precision = -20) : ISystemClock
{
    public long UnixNanoseconds => read();

    public sbyte Precision => precision;

    public NtpTimestamp NtpNow => NtpTimestamp.FromUnixTimeNanoseconds(read());
}

/// <summary>
/// An <see cref="NtpSource"/> against the real <see cref="NtpServerEngine"/> with no socket, on simulated true time:
/// the local clock reads true time + <see cref="LocalError"/>, the server's true time + <see cref="ServerError"/>, and
/// each exchange has the path delays and server processing time the test asks for.
/// </summary>
internal sealed class SourceLab : IDisposable
{
    public static readonly UInt128 Loopback = ((UInt128)0xffff << 32) | 0x7F000001;
    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"tempus-sources-{Guid.NewGuid():N}.keys");
    private long _trueNs = (new DateTime(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc) - DateTime.UnixEpoch).Ticks * 100;

    public SourceLab()
    {
        Local = new LabClock(() => LocalNs);
        ServerClock = new LabClock(() => _serverNs, -23);
        File.WriteAllText(_keyFile, """
            11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233
            21 AES128 HEX:000102030405060708090A0B0C0D0E0F
            """);
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        NtsRing = NtsServerKeyRing.CreateEphemeral(ServerClock, 604800);
        var access = new AccessRules();
        access.Add(true, false, IPNetwork.Parse("127.0.0.0/8"));
        Engine = new NtpServerEngine(ServerClock, Keys, access, cryptoNak: true, now => State with { ReferenceTime = now }, NtsRing);
    }

    private long _serverNs;

    /// <summary>Local clock minus true time, seconds.</summary>
    public double LocalError { get; set; }

    /// <summary>Server clock minus true time, seconds.</summary>
    public double ServerError { get; set; }

    public long LocalNs => _trueNs + (long)Math.Round(LocalError * 1e9);

    public LabClock Local { get; }

    public LabClock ServerClock { get; }

    public KeyRing Keys { get; }

    public NtsServerKeyRing NtsRing { get; }

    public NtpServerEngine Engine { get; }

    /// <summary>What the server advertises: stratum 2, root delay 10 ms, root dispersion 20 ms.</summary>
    public ReferenceState State { get; set; } = new(
        LeapIndicator.NoWarning, 2, 0x0A000001, default, NtpShortFormat.FromSeconds(0.010), NtpShortFormat.FromSeconds(0.020));

    public ServerOutcome LastServerOutcome { get; private set; }

    public static SourceDefinition Definition(int minPoll = 4, int maxPoll = 6, bool iburst = false, double maxDelay = 3.0, uint? keyId = null, bool nts = false) => new()
    {
        Kind = SourceKind.Server,
        Host = "127.0.0.1",
        MinPoll = minPoll,
        MaxPoll = maxPoll,
        IBurst = iburst,
        MaxDelay = maxDelay,
        KeyId = keyId,
        Nts = nts,
    };

    public NtpSource Source(SourceDefinition definition, IRequestAuthenticator? authenticator = null) =>
        new(definition, "127.0.0.1", new IPEndPoint(IPAddress.Loopback, 123), authenticator ?? new PlainAuthenticator(), Local, new Random(7));

    public SymmetricKey Key(uint id)
    {
        Assert.True(Keys.TryGetKey(id, out SymmetricKey? key));
        return key;
    }

    public void Advance(double seconds) => _trueNs += (long)Math.Round(seconds * 1e9);

    /// <summary>Moves true time on until the source's next request is due.</summary>
    public void AdvanceToNextPoll(NtpSource source)
    {
        long wait = source.NextPollNs - LocalNs;
        if (wait > 0)
        {
            _trueNs += wait;
        }
    }

    /// <summary>Builds the source's request now; fails the test if the source sends nothing.</summary>
    public byte[] Request(NtpSource source)
    {
        byte[] buffer = new byte[NtpSource.MinRequestBufferLength];
        int length = source.BuildRequest(buffer, LocalNs);
        Assert.True(length > 0, "the source sent no request");
        return buffer[..length];
    }

    /// <summary>The server's answer to a request that took <paramref name="outbound"/> s to arrive; true time is not moved.</summary>
    public byte[] Serve(ReadOnlySpan<byte> request, double outbound = 0.010, double processing = 0.0001)
    {
        long trueRx = _trueNs + (long)Math.Round(outbound * 1e9);
        _serverNs = trueRx + (long)Math.Round(ServerError * 1e9);
        NtpTimestamp t2 = ServerClock.NtpNow;
        _serverNs += (long)Math.Round(processing * 1e9);
        byte[] response = new byte[2048];
        int length = Engine.Process(request, Loopback, t2, response, out ServerOutcome outcome);
        LastServerOutcome = outcome;
        return response[..length];
    }

    /// <summary>Like <see cref="Serve"/> into a caller's buffer, for the allocation test.</summary>
    public int ServeInto(ReadOnlySpan<byte> request, Span<byte> response, double outbound = 0.010, double processing = 0.0001)
    {
        long trueRx = _trueNs + (long)Math.Round(outbound * 1e9);
        _serverNs = trueRx + (long)Math.Round(ServerError * 1e9);
        NtpTimestamp t2 = ServerClock.NtpNow;
        _serverNs += (long)Math.Round(processing * 1e9);
        return Engine.Process(request, Loopback, t2, response, out _);
    }

    /// <summary>Delivers a datagram after the whole round trip has passed.</summary>
    public SourceResponseOutcome Deliver(NtpSource source, ReadOnlySpan<byte> response) =>
        source.ProcessResponse(response, Local.NtpNow, LocalNs);

    /// <summary>One whole exchange at the next poll: request, server, response back.</summary>
    public SourceResponseOutcome Poll(NtpSource source, double outbound = 0.010, double processing = 0.0001, double inbound = 0.010)
    {
        AdvanceToNextPoll(source);
        byte[] request = Request(source);
        byte[] response = Serve(request, outbound, processing);
        Assert.NotEmpty(response);
        Advance(outbound + processing + inbound);
        return Deliver(source, response);
    }

    /// <summary>A poll whose request gets no answer: the deadline passes and the source is told.</summary>
    public void Silence(NtpSource source)
    {
        AdvanceToNextPoll(source);
        Request(source);
        _trueNs += Math.Max(0, source.ResponseDeadlineNs - LocalNs);
        source.OnTimeout(LocalNs);
    }

    /// <summary>A kiss-o'-death answering <paramref name="request"/>, built by hand (the engine sends none of these).</summary>
    public byte[] Kiss(ReadOnlySpan<byte> request, uint code, sbyte poll)
    {
        NtpPacketHeader asked = NtpPacketHeader.Read(request);
        var header = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = asked.Version,
            Mode = NtpMode.Server,
            Stratum = 0,
            Poll = poll,
            Precision = -20,
            ReferenceId = code,
            OriginTimestamp = asked.TransmitTimestamp,
            ReceiveTimestamp = ServerClock.NtpNow,
            TransmitTimestamp = ServerClock.NtpNow,
        };
        byte[] datagram = new byte[NtpPacketHeader.Size];
        header.TryWrite(datagram, out _);
        return datagram;
    }

    public void Dispose()
    {
        NtsRing.Dispose();
        Keys.Dispose();
        File.Delete(_keyFile);
    }
}
