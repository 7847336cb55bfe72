using System.Net;
using System.Net.Sockets;
using Tempus.Auth;
using Tempus.Config;
using Tempus.Control;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;
using Tempus.Tests.Nts;
using Tempus.Tests.Nts.Ke;
using Tempus.Tests.Tls;

namespace Tempus.Tests.Server;

/// <summary>ratelimit in the engine (drops, KoD RATE for plain, symmetric-key and NTS requests), ntsratelimit on NTS-KE, serverstats.</summary>
public sealed class ServerRateLimitTests : IClassFixture<TestPki>, IDisposable
{
    private static readonly DateTime s_start = new(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);
    private static readonly UInt128 s_client = ((UInt128)0xffff << 32) | 0x7F000001;
    private readonly TestPki _pki;
    private readonly FakeClock _clock = new(s_start);
    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"tempus-ratelimit-{Guid.NewGuid():N}.keys");
    private readonly KeyRing _keys;
    private readonly NtsServerKeyRing _ring;

    public ServerRateLimitTests(TestPki pki)
    {
        _pki = pki;
        File.WriteAllText(_keyFile, "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        _ring = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
    }

    public void Dispose()
    {
        _ring.Dispose();
        _keys.Dispose();
        File.Delete(_keyFile);
    }

    private NtpServerEngine Engine(ClientLog log)
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        return new NtpServerEngine(_clock, _keys, access, false, now => ReferenceState.Local(2, now), _ring, log);
    }

    private static byte[] Request(SymmetricKey? key = null)
    {
        byte[] buffer = new byte[100];
        var header = new NtpPacketHeader { Version = 4, Mode = NtpMode.Client, Poll = 6, TransmitTimestamp = new NtpTimestamp(0xABCDEF) };
        header.TryWrite(buffer, out int length);
        if (key is not null)
        {
            length += key.WriteMac(buffer.AsSpan(0, length), buffer.AsSpan(length));
        }

        return buffer[..length];
    }

    // kod 4 with leak 4 would be rare; kod 1 leak 1: of the limited, half leak, and half of the rest get RATE.
    private ClientLog KodLog() => new(524288, new RateLimitOptions(IntervalLog2: 10, Burst: 1, Leak: 1, Kod: 1), null, _clock, seed: 7);

    [Fact]
    public void RequestsOverTheLimitAreDroppedBeforeAuthenticationAndCounted()
    {
        var log = new ClientLog(524288, new RateLimitOptions(IntervalLog2: 10, Burst: 3, Leak: 4), null, _clock, seed: 1);
        NtpServerEngine engine = Engine(log);
        byte[] response = new byte[2048];
        NtpTimestamp now = _clock.NtpNow;
        var outcomes = new List<ServerOutcome>();
        for (int i = 0; i < 200; i++)
        {
            engine.Process(Request(), s_client, now, response, out ServerOutcome outcome);
            outcomes.Add(outcome);
        }

        Assert.All(outcomes.Take(3), o => Assert.Equal(ServerOutcome.Responded, o));
        int dropped = outcomes.Count(o => o == ServerOutcome.DroppedRateLimited);
        Assert.Equal(200, dropped + outcomes.Count(o => o == ServerOutcome.Responded));
        Assert.InRange(dropped, 170, 197);
        Assert.Equal(dropped, engine.Counters.RateLimited);

        ServerStatsReport stats = engine.GetServerStats();
        Assert.Equal(200, stats.NtpPacketsReceived);
        Assert.Equal(dropped, stats.NtpPacketsDropped);
        Assert.Equal(200 - dropped, stats.NtpResponsesSent);
        Assert.Equal(0, stats.RateLimitKods);
        Assert.Equal(0, stats.ClientLogRecordsDropped);

        // Another client is not affected.
        Assert.True(engine.Process(Request(), s_client + 1, now, response, out ServerOutcome other) > 0);
        Assert.Equal(ServerOutcome.Responded, other);
    }

    [Fact]
    public void KodRateIsStratumZeroWithTheRequestTimestampsEchoed()
    {
        NtpServerEngine engine = Engine(KodLog());
        byte[] response = new byte[2048];
        NtpTimestamp now = _clock.NtpNow;
        NtpPacketHeader kod = default;
        bool seen = false;
        for (int i = 0; i < 100 && !seen; i++)
        {
            int length = engine.Process(Request(), s_client, now, response, out ServerOutcome outcome);
            if (outcome == ServerOutcome.RespondedRateKod)
            {
                Assert.Equal(NtpPacketHeader.Size, length);
                Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(response.AsSpan(0, length), out kod));
                seen = true;
            }
        }

        Assert.True(seen, "no KoD in 100 limited requests with kod 1");
        Assert.Equal(LeapIndicator.Unsynchronized, kod.Leap);
        Assert.Equal(0, kod.Stratum);
        Assert.Equal(KissCode.Rate, kod.ReferenceId);
        Assert.Equal(NtpMode.Server, kod.Mode);
        Assert.Equal(new NtpTimestamp(0xABCDEF), kod.OriginTimestamp);
        Assert.Equal(now, kod.ReceiveTimestamp);
        Assert.True(kod.IsKissOfDeath);
        Assert.True(engine.Counters.RateKods >= 1);
        Assert.Equal(engine.Counters.RateKods, engine.GetServerStats().RateLimitKods);
    }

    [Fact]
    public void KodRateToASymmetricKeyRequestCarriesAValidMac()
    {
        NtpServerEngine engine = Engine(KodLog());
        Assert.True(_keys.TryGetKey(21, out SymmetricKey? key));
        byte[] response = new byte[2048];
        for (int i = 0; i < 100; i++)
        {
            int length = engine.Process(Request(key), s_client, _clock.NtpNow, response, out ServerOutcome outcome);
            if (outcome == ServerOutcome.RespondedRateKod)
            {
                Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(response.AsSpan(0, length), out NtpPacketLayout layout));
                Assert.Equal(KissCode.Rate, layout.Header.ReferenceId);
                Assert.True(layout.HasMac);
                Assert.True(key!.VerifyDigest(layout.AuthenticatedData, layout.MacDigest));
                return;
            }
        }

        Assert.Fail("no KoD in 100 limited requests with kod 1");
    }

    [Fact]
    public void KodRateToAnNtsRequestIsAuthenticatedAndTheClientSeesTheKissCode()
    {
        NtpServerEngine engine = Engine(KodLog());
        byte[] response = new byte[2048];
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        for (int i = 0; i < 100 && session.Cookies.Count > 0; i++)
        {
            NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
            int length = engine.Process(request.Datagram.Span, s_client, _clock.NtpNow, response, out ServerOutcome outcome);
            if (outcome == ServerOutcome.RespondedRateKod)
            {
                Assert.Equal(NtsResponseStatus.KissOfDeath, request.Accept(response.AsSpan(0, length), out NtpPacketHeader header));
                Assert.Equal(KissCode.Rate, header.ReferenceId);
                return;
            }

            if (length > 0)
            {
                Assert.Equal(NtsResponseStatus.Accepted, request.Accept(response.AsSpan(0, length), out _));
            }
        }

        Assert.Fail("no KoD among the limited NTS requests with kod 1");
    }

    [Fact]
    public async Task NtsratelimitClosesConnectionsOverTheLimitBeforeTls()
    {
        var log = new ClientLog(524288, null, new RateLimitOptions(IntervalLog2: 6, Burst: 2, Leak: 4), _clock, seed: 3);
        var options = new NtsKeServerOptions
        {
            Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            Certificates = [_pki.Localhost],
            CertificateCheckInterval = TimeSpan.Zero,
        };
        await using var server = new NtsKeServer(options, new TransparentCookieIssuer()) { Admission = log.AdmitNtsKe };
        server.Start();

        const int connections = 20;
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < connections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port()));
            }

            await NtsKe.EventuallyAsync(() => log.NtsKeHits == connections, "every connection was logged");
            long dropped = log.NtsKeDrops;
            Assert.InRange(dropped, 10, 18);
            await NtsKe.EventuallyAsync(() => server.Counters.ConnectionsAccepted == connections - dropped, "the admitted connections were accepted");

            var stats = new NtpServerEngine(_clock, null, new AccessRules(), false, now => ReferenceState.Unsynchronized, null, log).GetServerStats(server.Counters);
            Assert.Equal(connections - dropped, stats.NtsKeConnectionsAccepted);
            Assert.Equal(dropped, stats.NtsKeConnectionsDropped);
            ClientReport row = Assert.Single(log.Snapshot(ntsKe: true, 10));
            Assert.Equal("127.0.0.1", row.Address);
            Assert.Equal(connections, row.NtsKeRequests);
            Assert.Equal(dropped, row.NtsKeDropped);

            // A refused connection is closed by the server at once: reading it ends without waiting on TLS.
            int closed = 0;
            foreach (Socket socket in sockets)
            {
                socket.ReceiveTimeout = 200;
                try
                {
                    if (socket.Receive(new byte[16]) == 0)
                    {
                        closed++;
                    }
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset)
                {
                    closed += e.SocketErrorCode == SocketError.ConnectionReset ? 1 : 0;
                }
            }

            Assert.Equal(dropped, closed);
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }
}
