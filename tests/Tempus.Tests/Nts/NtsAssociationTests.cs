using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Server;
using Tempus.Tests.Nts.Ke;
using Tempus.Tests.Tls;

namespace Tempus.Tests.Nts;

/// <summary>
/// The whole NTS client life cycle over loopback against the real NTS-KE server and NTP engine: key exchange,
/// cookie reuse, the saved session after a restart, and a new key exchange after an NTS NAK.
/// </summary>
public sealed class NtsAssociationTests : IClassFixture<TestPki>, IDisposable
{
    private readonly TestPki _pki;
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-assoc-").FullName;

    public NtsAssociationTests(TestPki pki) => _pki = pki;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class NtsServer : IAsyncDisposable
    {
        public NtsServer(TestPki pki, NtsServerKeyRing ring, int kePort = 0, int ntpPort = 0)
        {
            Ring = ring;
            var access = new AccessRules();
            access.Add(true, false, null);
            var engine = new NtpServerEngine(RealtimeClock.Instance, null, access, false, now => ReferenceState.Local(2, now), ring);
            Udp = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, ntpPort)], NullLogger.Instance);
            Udp.Start();
            Engine = engine;
            Ke = NtsKe.StartServer([pki.Localhost], ring, o => o with
            {
                Endpoints = [new IPEndPoint(IPAddress.Loopback, kePort)],
                NtpPort = Udp.LocalEndpoints[0].Port,
            });
        }

        public NtsServerKeyRing Ring { get; }

        public NtpServerEngine Engine { get; }

        public UdpNtpServer Udp { get; }

        public NtsKeServer Ke { get; }

        public async ValueTask DisposeAsync()
        {
            await Ke.DisposeAsync();
            Udp.Dispose();
            Ring.Dispose();
        }
    }

    private NtsAssociation Associate(NtsServer server, NtsSessionStore? store, TimeSpan refresh = default) =>
        new("localhost", server.Ke.Port(), NtsKe.ClientOptions(_pki.CaFile), store, RealtimeClock.Instance, refresh);

    [Fact]
    public async Task OneKeyExchangeServesManyQueriesAndKeepsEightCookies()
    {
        await using var server = new NtsServer(_pki, NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600));
        NtsAssociation association = Associate(server, null);
        for (int i = 0; i < 12; i++)
        {
            var result = await association.QueryAsync(NtsKe.TestTimeout, CancellationToken.None);
            Assert.Equal(Tempus.Ntp.AuthenticationMode.Nts, result.Authentication);
            Assert.Equal(8, association.Session!.Cookies.Count);
        }

        Assert.Equal(1, association.KeyExchanges);
        Assert.Equal(12, server.Engine.Counters.NtsAuthenticated);
    }

    [Fact]
    public async Task ARestartedClientUsesItsSavedCookiesWithoutAKeyExchange()
    {
        await using var server = new NtsServer(_pki, NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600));
        var store = new NtsSessionStore(Path.Combine(_dir, "client"));
        await Associate(server, store).QueryAsync(NtsKe.TestTimeout, CancellationToken.None);
        long handshakes = server.Ke.Counters.HandshakesCompleted;

        NtsAssociation restarted = Associate(server, store);
        await restarted.QueryAsync(NtsKe.TestTimeout, CancellationToken.None);

        Assert.Equal(0, restarted.KeyExchanges);
        Assert.True(restarted.SessionLoadedFromStore);
        Assert.Equal(handshakes, server.Ke.Counters.HandshakesCompleted);
    }

    [Fact]
    public async Task ARestartedServerWithItsSavedKeysStillAcceptsOldCookies()
    {
        string serverDir = Path.Combine(_dir, "server");
        var store = new NtsSessionStore(Path.Combine(_dir, "client"));
        int kePort;
        int ntpPort;
        await using (var first = new NtsServer(_pki, NtsServerKeyRing.Open(RealtimeClock.Instance, 3600, serverDir, NullLogger.Instance)))
        {
            await Associate(first, store).QueryAsync(NtsKe.TestTimeout, CancellationToken.None);
            (kePort, ntpPort) = (first.Ke.Port(), first.Udp.LocalEndpoints[0].Port);
        }

        await using var second = new NtsServer(_pki, NtsServerKeyRing.Open(RealtimeClock.Instance, 3600, serverDir, NullLogger.Instance), kePort, ntpPort);
        NtsAssociation association = Associate(second, store);
        await association.QueryAsync(NtsKe.TestTimeout, CancellationToken.None);

        Assert.Equal(0, association.KeyExchanges);
        Assert.Equal(0, association.NaksReceived);
        Assert.Equal(0, second.Ke.Counters.HandshakesCompleted);
        Assert.Equal(1, second.Engine.Counters.NtsAuthenticated);
    }

    [Fact]
    public async Task AnNtsNakThrowsTheSessionAwayAndRunsNtsKeAgain()
    {
        var store = new NtsSessionStore(Path.Combine(_dir, "client"));
        int kePort;
        int ntpPort;
        await using (var first = new NtsServer(_pki, NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600)))
        {
            await Associate(first, store).QueryAsync(NtsKe.TestTimeout, CancellationToken.None);
            (kePort, ntpPort) = (first.Ke.Port(), first.Udp.LocalEndpoints[0].Port);
        }

        // Same ports, new master keys: the saved cookies cannot be opened, so the server answers with an NTS NAK.
        await using var second = new NtsServer(_pki, NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600), kePort, ntpPort);
        NtsAssociation association = Associate(second, store);
        var result = await association.QueryAsync(NtsKe.TestTimeout, CancellationToken.None);

        Assert.Equal(Tempus.Ntp.AuthenticationMode.Nts, result.Authentication);
        Assert.Equal(1, association.NaksReceived);
        Assert.Equal(1, association.KeyExchanges);
        Assert.Equal(1, second.Engine.Counters.NtsNaksSent);
    }

    [Fact]
    public async Task ASessionOlderThanNtsrefreshIsReplacedByANewKeyExchange()
    {
        await using var server = new NtsServer(_pki, NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600));
        NtsAssociation association = Associate(server, null, refresh: TimeSpan.FromMilliseconds(1));
        await association.QueryAsync(NtsKe.TestTimeout, CancellationToken.None);
        await Task.Delay(20);
        await association.QueryAsync(NtsKe.TestTimeout, CancellationToken.None);
        Assert.Equal(2, association.KeyExchanges);
    }

    [Fact]
    public async Task FailedKeyExchangesBackOff()
    {
        using System.Net.Sockets.Socket refusing = Loopback.RefusingPort(out int port);

        var association = new NtsAssociation("127.0.0.1", port, NtsKe.ClientOptions(_pki.CaFile), null, RealtimeClock.Instance, TimeSpan.Zero);
        NtsKeException refused = await Assert.ThrowsAsync<NtsKeException>(() => association.QueryAsync(NtsKe.TestTimeout, CancellationToken.None));
        Assert.Equal(NtsKeFailureReason.ConnectionRefused, refused.Reason);
        NtsKeException backingOff = await Assert.ThrowsAsync<NtsKeException>(() => association.QueryAsync(NtsKe.TestTimeout, CancellationToken.None));
        Assert.Contains("backing off", backingOff.Message, StringComparison.Ordinal);
        Assert.Equal(1, association.KeyExchangeFailures);
    }
}
