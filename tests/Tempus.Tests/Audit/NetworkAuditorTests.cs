using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Audit;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Server;
using Tempus.Tests.Nts.Ke;
using Tempus.Tests.Tls;
using Tempus.Tls;

namespace Tempus.Tests.Audit;

/// <summary>The audit's network checks against in-process NTS-KE and NTP servers on loopback.</summary>
public sealed class NetworkAuditorTests : IClassFixture<TestPki>, IDisposable
{
    private readonly TestPki _pki;
    private readonly AuditFiles _files = new();

    public NetworkAuditorTests(TestPki pki) => _pki = pki;

    public void Dispose() => _files.Dispose();

    /// <summary>An NTS-KE server and an NTS-capable NTP server; the NTS-KE server may name another NTP port.</summary>
    private sealed class NtsServer : IAsyncDisposable
    {
        private readonly NtsServerKeyRing _ring = NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600);

        public NtsServer(TlsCertificateKeyPair certificate, int? advertisedNtpPort = null)
        {
            var access = new AccessRules();
            access.Add(true, false, null);
            var engine = new NtpServerEngine(RealtimeClock.Instance, null, access, false, now => ReferenceState.Local(2, now), _ring);
            Udp = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
            Udp.Start();
            Ke = NtsKe.StartServer([certificate], _ring, o => o with { NtpPort = advertisedNtpPort ?? Udp.LocalEndpoints[0].Port });
        }

        public UdpNtpServer Udp { get; }

        public NtsKeServer Ke { get; }

        public async ValueTask DisposeAsync()
        {
            await Ke.DisposeAsync();
            Udp.Dispose();
            _ring.Dispose();
        }
    }

    // The default bounds checks that must get an answer, so no passing test waits it out; 5 s was close on a loaded
    // 2-core CI machine (a TLS handshake and an NTP exchange through a starved thread pool). Tests that expect a
    // silent peer pass their own, shorter limit.
    private static async Task<AuditFinding> CheckOneAsync(string config, double timeoutSeconds = 30)
    {
        AuditInput input = AuditConfigReader.Parse(config, "/etc/chrony/chrony.conf", ConfigDialect.Chrony);
        IReadOnlyList<AuditFinding> findings = await new NetworkAuditor(TimeSpan.FromSeconds(timeoutSeconds)).AuditAsync(input, CancellationToken.None);
        return Assert.Single(findings);
    }

    private string NtsConfig(int kePort, string? ca = null, string host = "localhost") =>
        $"server {host} nts ntsport {kePort}\nntstrustedcerts {ca ?? _pki.CaFile}\nnosystemcert\n";

    [Fact]
    public async Task AWorkingNtsServerIsReportedAsNtsInForce()
    {
        await using var server = new NtsServer(_pki.Localhost);
        AuditFinding finding = await CheckOneAsync(NtsConfig(server.Ke.Port()));
        Assert.Equal((AuditSeverity.Info, AuditCodes.NtsInForce, "localhost"), (finding.Severity, finding.Code, finding.Source));
        Assert.Contains("cookies held", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExpiredCertificateIsReportedWithItsDatesAndThisMachinesClock()
    {
        await using var server = new NtsServer(_pki.Expired);
        AuditFinding finding = await CheckOneAsync(NtsConfig(server.Ke.Port()));
        Assert.Equal((AuditSeverity.Failure, AuditCodes.TlsCertificateExpired), (finding.Severity, finding.Code));
        Assert.Contains($"to {_pki.ExpiredUntil:yyyy-MM-dd HH:mm:ss}Z", finding.Message, StringComparison.Ordinal);
        Assert.Contains("this machine's clock says", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANotYetValidCertificateIsReported()
    {
        await using var server = new NtsServer(_pki.NotYetValid);
        AuditFinding finding = await CheckOneAsync(NtsConfig(server.Ke.Port()));
        Assert.Equal(AuditCodes.TlsCertificateNotYetValid, finding.Code);
        Assert.Contains($"valid from {_pki.NotYetValidFrom:yyyy-MM-dd HH:mm:ss}Z", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUntrustedIssuerIsReported()
    {
        await using var server = new NtsServer(_pki.Localhost);
        AuditFinding finding = await CheckOneAsync(NtsConfig(server.Ke.Port(), ca: _pki.OtherCaFile));
        Assert.Equal(AuditCodes.TlsUntrustedIssuer, finding.Code);
        Assert.Contains("ntstrustedcerts", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHostnameMismatchIsReported()
    {
        await using var server = new NtsServer(_pki.OtherName);
        AuditFinding finding = await CheckOneAsync(NtsConfig(server.Ke.Port()));
        Assert.Equal(AuditCodes.TlsHostnameMismatch, finding.Code);
    }

    [Fact]
    public async Task AClosedNtsKePortIsReportedAsRefused()
    {
        using Socket refusing = Loopback.RefusingPort(out int port);
        AuditFinding finding = await CheckOneAsync(NtsConfig(port, host: "127.0.0.1"));
        Assert.Equal((AuditSeverity.Failure, AuditCodes.NtsKeConnectionRefused), (finding.Severity, finding.Code));
    }

    [Fact]
    public async Task AnNtsKePortThatNeverAnswersIsReportedAsATimeoutAskingAboutTheFirewall()
    {
        // The kernel completes the TCP handshake from the listen backlog; nobody ever speaks TLS.
        using var silent = new Loopback();
        AuditFinding finding = await CheckOneAsync(NtsConfig(silent.Port, host: "127.0.0.1"), timeoutSeconds: 1);
        Assert.Equal((AuditSeverity.Failure, AuditCodes.NtsKeTimeout), (finding.Severity, finding.Code));
        Assert.Contains($"firewall block TCP/{silent.Port}", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkingNtsKeWithUdpThatNeverAnswersIsUdpBlocked()
    {
        // NTS-KE names an NTP port where a socket is bound but nothing ever answers: TCP works, UDP does not.
        using var blackHole = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        blackHole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var server = new NtsServer(_pki.Localhost, ((IPEndPoint)blackHole.LocalEndPoint!).Port);
        // The same timeout bounds the key exchange, which must succeed: not too short on a loaded machine.
        AuditFinding finding = await CheckOneAsync(NtsConfig(server.Ke.Port()), timeoutSeconds: 10);
        Assert.Equal((AuditSeverity.Failure, AuditCodes.UdpBlocked), (finding.Severity, finding.Code));
        Assert.Contains("over TCP worked", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANameThatDoesNotResolveIsADnsFailure()
    {
        AuditFinding finding = await CheckOneAsync("server no-such-host.invalid\n");
        Assert.Equal((AuditSeverity.Failure, AuditCodes.DnsFailure), (finding.Severity, finding.Code));
    }

    private static UdpNtpServer ServeNtp(KeyRing? keys, bool cryptoNak = false)
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        var server = new UdpNtpServer(
            new NtpServerEngine(RealtimeClock.Instance, keys, access, cryptoNak, now => ReferenceState.Local(4, now)),
            RealtimeClock.Instance,
            [new IPEndPoint(IPAddress.Loopback, 0)],
            NullLogger.Instance);
        server.Start();
        return server;
    }

    private string KeyConfig(int port, string keyLine)
    {
        string keys = _files.Write("client.keys", keyLine);
        return $"keyfile {keys}\nserver 127.0.0.1 port {port} key 21\n";
    }

    [Fact]
    public async Task ASymmetricKeyExchangeWithTheRightKeyIsInForce()
    {
        using var ring = new KeyRing(KeyFile.Parse("21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n", "server.keys", new List<KeyFileWarning>()));
        using UdpNtpServer server = ServeNtp(ring);
        AuditFinding finding = await CheckOneAsync(KeyConfig(server.LocalEndpoints[0].Port, "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n"));
        Assert.Equal((AuditSeverity.Info, AuditCodes.SymmetricKeyInForce), (finding.Severity, finding.Code));
    }

    [Fact]
    public async Task ASymmetricKeyThatDiffersFromTheServersIsAMacFailure()
    {
        using var ring = new KeyRing(KeyFile.Parse("21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n", "server.keys", new List<KeyFileWarning>()));
        using UdpNtpServer server = ServeNtp(ring, cryptoNak: true);
        AuditFinding finding = await CheckOneAsync(KeyConfig(server.LocalEndpoints[0].Port, "21 AES128 HEX:FF0102030405060708090A0B0C0D0E0F\n"));
        Assert.Equal((AuditSeverity.Failure, AuditCodes.SymmetricKeyMacFailure), (finding.Severity, finding.Code));
    }

    [Fact]
    public async Task APlainSourceIsCheckedForReachabilityOnly()
    {
        using UdpNtpServer server = ServeNtp(null);
        AuditFinding reachable = await CheckOneAsync($"server 127.0.0.1 port {server.LocalEndpoints[0].Port}\n");
        Assert.Equal((AuditSeverity.Info, AuditCodes.SourceReachable), (reachable.Severity, reachable.Code));
        Assert.Contains("reachability only", reachable.Message, StringComparison.Ordinal);

        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        AuditFinding unreachable = await CheckOneAsync($"server 127.0.0.1 port {((IPEndPoint)silent.LocalEndPoint!).Port}\n", timeoutSeconds: 1);
        Assert.Equal((AuditSeverity.Warning, AuditCodes.SourceUnreachable), (unreachable.Severity, unreachable.Code));
    }

    [Fact]
    public async Task SourcesAreCheckedInParallelAndReportedInConfigurationOrder()
    {
        using UdpNtpServer server = ServeNtp(null);
        using var silent = new Loopback();
        int port = server.LocalEndpoints[0].Port;
        AuditInput input = AuditConfigReader.Parse(
            $"server 127.0.0.1 nts ntsport {silent.Port}\nserver 127.0.0.1 port {port}\nrefclock PHC /dev/ptp0\n",
            "/etc/chrony/chrony.conf",
            ConfigDialect.Chrony);
        // The limit also bounds the plain source's exchange, which must succeed: not too short on a loaded machine.
        IReadOnlyList<AuditFinding> findings = await new NetworkAuditor(TimeSpan.FromSeconds(10)).AuditAsync(input, CancellationToken.None);
        Assert.Equal([AuditCodes.NtsKeTimeout, AuditCodes.SourceReachable], findings.Select(f => f.Code));
    }
}
