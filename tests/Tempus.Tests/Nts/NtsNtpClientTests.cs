using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Ntp;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Tests.Nts;

/// <summary>The NTS client against the real server engine over loopback UDP.</summary>
public sealed class NtsNtpClientTests : IDisposable
{
    // Every query with this timeout expects an answer (or an error the answer carries), so the limit only bounds a
    // broken run: 2 s was too close on a loaded 2-core machine, where the test host's thread pool can be starved.
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly NtsServerKeyRing _ring = NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 604800);

    public void Dispose() => _ring.Dispose();

    private static UdpNtpServer StartServer(NtsServerKeyRing? ring)
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        var engine = new NtpServerEngine(RealtimeClock.Instance, null, access, false, now => ReferenceState.Local(2, now), ring);
        var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
        server.Start();
        return server;
    }

    [Theory]
    [MemberData(nameof(NtsTestSessions.Algorithms), MemberType = typeof(NtsTestSessions))]
    public async Task NtsQueryIsAuthenticatedAndRefillsTheCookies(Protocol.NtsAeadAlgorithm algorithm)
    {
        using UdpNtpServer server = StartServer(_ring);
        NtsSession session = NtsTestSessions.Create(_ring, algorithm, cookies: 2);

        NtpQueryResult result = await new NtsNtpClient(RealtimeClock.Instance).QueryAsync(session, server.LocalEndpoints[0], s_timeout, CancellationToken.None);

        Assert.Equal(AuthenticationMode.Nts, result.Authentication);
        Assert.Equal(2, result.Header.Stratum);
        Assert.InRange(Math.Abs(result.Offset), 0, result.Delay + 0.001);
        // Six placeholders of 168-byte AEAD 17 cookies would pass 1280 bytes: that client asks for five.
        Assert.Equal(algorithm == Protocol.NtsAeadAlgorithm.AesSivCmac512 ? 7 : 8, session.Cookies.Count);
    }

    [Fact]
    public async Task NtsNakTellsTheCallerToRunNtsKeAgain()
    {
        using UdpNtpServer server = StartServer(_ring);
        NtsSession session = NtsTestSessions.Create(_ring, Protocol.NtsAeadAlgorithm.AesSivCmac256, cookies: 2);
        for (int i = 0; i < NtsServerKeyRing.MaxKeys; i++)
        {
            _ring.Rotate();
        }

        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtsNtpClient(RealtimeClock.Instance).QueryAsync(session, server.LocalEndpoints[0], s_timeout, CancellationToken.None));

        Assert.Equal(NtpQueryError.NtsNak, e.Error);
        Assert.Equal(KissCode.Ntsn, e.KissCode);
        Assert.Contains("run NTS-KE again", e.Message);
    }

    [Fact]
    public async Task ServerWithoutNtsTimesOutWithAHint()
    {
        using UdpNtpServer server = StartServer(ring: null);
        NtsSession session = NtsTestSessions.Create(_ring, Protocol.NtsAeadAlgorithm.AesSivCmac256, cookies: 2);

        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtsNtpClient(RealtimeClock.Instance).QueryAsync(session, server.LocalEndpoints[0], TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.Equal(NtpQueryError.Timeout, e.Error);
        Assert.Contains("NTS enabled", e.Message);
    }

    [Fact]
    public async Task SessionWithoutCookiesFailsAtOnce()
    {
        NtsSession session = NtsTestSessions.Create(_ring, Protocol.NtsAeadAlgorithm.AesSivCmac256, cookies: 0);

        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtsNtpClient(RealtimeClock.Instance).QueryAsync(session, new IPEndPoint(IPAddress.Loopback, 9), s_timeout, CancellationToken.None));

        Assert.Equal(NtpQueryError.NtsNoCookies, e.Error);
    }

    [Fact]
    public async Task ForgedResponsesAreDiscardedWhileWaiting()
    {
        // A scripted server that first answers with a plain unauthenticated response, then stays silent.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endpoint = (IPEndPoint)socket.LocalEndPoint!;
        Task responder = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            SocketReceiveFromResult received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0));
            NtpPacketHeader request = NtpPacketHeader.Read(buffer);
            byte[] forged = new byte[48];
            new NtpPacketHeader { Version = 4, Mode = NtpMode.Server, Stratum = 1, OriginTimestamp = request.TransmitTimestamp, ReceiveTimestamp = new NtpTimestamp(1), TransmitTimestamp = new NtpTimestamp(2) }.TryWrite(forged, out _);
            await socket.SendToAsync(forged, SocketFlags.None, received.RemoteEndPoint);
        });
        NtsSession session = NtsTestSessions.Create(_ring, Protocol.NtsAeadAlgorithm.AesSivCmac256, cookies: 2);

        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtsNtpClient(RealtimeClock.Instance).QueryAsync(session, endpoint, TimeSpan.FromMilliseconds(500), CancellationToken.None));
        await responder;

        Assert.Equal(NtpQueryError.Timeout, e.Error);
        Assert.Contains("without NTS authentication", e.Message);
        Assert.Single(session.Cookies);
    }
}
