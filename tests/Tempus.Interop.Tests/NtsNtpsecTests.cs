using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// NTS (RFC 8915) between Tempus and NTPsec 1.2.2's ntpd, both ways. What NTPsec does, seen while writing these:
// - its NTS-KE server has no port or address option: it listens on 0.0.0.0:4460 and [::]:4460;
// - as a server it speaks AEAD 15 and 17 (AES-SIV-CMAC-256/512) and picks the client's first one it
//   knows; offered only 30 (AES-128-GCM-SIV) it answers with AEAD 15 anyway, which tempusctl rejects
//   as a response that does not answer its request;
// - as a client, `server NAME nts` runs NTS-KE on NAME:4460, checks the certificate against NAME, and
//   follows the Port record to a non-123 NTP port ("NTSc: Using port 12345");
// - `ntpq -c nts` counts NTS-KE probes and NTS-protected responses ("NTS client recvs good").
[Collection(InteropCollectionDefinition.Name)]
public sealed class NtsNtpsecTests : IDisposable
{
    private static readonly TimeSpan s_serveWithin = TimeSpan.FromSeconds(15);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;
    private readonly TestPki _pki = new();

    public NtsNtpsecTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    public void Dispose() => _pki.Dispose();

    [Fact(Timeout = 90_000)]
    public async Task TempusctlAuthenticatesNtpsecWithNtsAndBothSivAeads()
    {
        await using NtpsecPeer ntpd = await NtpsecPeer.StartNtsServerAsync(_paths, _output, _pki.Localhost);

        foreach ((int aead, int cookieLength) in new[] { (15, 104), (17, 168) })
        {
            TempusQuery query = await Poll.UntilAsync(
                () => _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { CaFile = _pki.CaFile, Aeads = [aead] }),
                q => q.Command.ExitCode is not (TempusCtlExit.Timeout or TempusCtlExit.Unreachable),
                s_serveWithin,
                TimeSpan.FromSeconds(1));

            TempusReport report = Expect.Success(query);
            NtsReport nts = report.Nts;
            Assert.Equal("nts", report.Authentication);
            Assert.Equal(NtpsecPeer.OrphanStratum, report.Stratum);
            Assert.Equal(aead, nts.Aead);
            // RFC 8915 §5.7: 8 cookies from NTS-KE, one spent and one returned by the NTP response.
            Assert.Equal(8, nts.CookiesHeld);
            Assert.True(nts.KeyExchanges is null or 1, $"keyExchanges {nts.KeyExchanges}\n{query.Command}");
            Assert.True(nts.Naks is null or 0, $"naks {nts.Naks}\n{query.Command}");
            Assert.Equal(NtpsecPeer.NtsKePort, nts.KePort);
            Assert.Equal(NtpsecPeer.Port, nts.NtpPort);
            // NTPsec's cookies carry the C2S and S2C keys, so they grow with the AEAD's key length.
            Assert.Equal(cookieLength, nts.CookieLength);
            Expect.SaneTiming(report, query);
        }

        IReadOnlyDictionary<string, long> counters = await ntpd.NtsCountersAsync();
        Assert.True(counters.GetValueOrDefault("NTS KE serves good") >= 2, $"ntpq -c nts: {string.Join(", ", counters)}\n{ntpd.Log}");
        Assert.True(counters.GetValueOrDefault("NTS server recvs good") >= 2, $"ntpq -c nts: {string.Join(", ", counters)}\n{ntpd.Log}");
    }

    [Fact(Timeout = 60_000)]
    public async Task NtpsecAnsweringAnAeadThatWasNotOfferedIsRejected()
    {
        await using NtpsecPeer ntpd = await NtpsecPeer.StartNtsServerAsync(_paths, _output, _pki.Localhost);

        TempusQuery query = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { CaFile = _pki.CaFile, Aeads = [30] });

        Expect.Exit(query.Command, TempusCtlExit.NtsKeFailed);
        Assert.True(query.Command.Stderr.Contains("AEAD", StringComparison.Ordinal), $"the failure does not say it is about the AEAD\n{query.Command}");
    }

    [Fact(Timeout = 90_000)]
    public async Task NtpsecAuthenticatesTempusdWithNtsOnANonStandardNtpPort()
    {
        // NTPsec's client needs NTS-KE on 4460 and binds 127.0.0.1:123 itself; tempusd's NTP port reaches
        // it only through the Port record (RFC 8915 §4.1.8).
        await FreePort.RequireTcpFreeAsync(System.Net.IPAddress.Loopback, NtpsecPeer.NtsKePort, "tempusd's NTS-KE server", FreePort.FixedPortWait);
        await using TempusDaemon tempusd = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions
        {
            NtsCertificates = [_pki.Localhost],
            NtsPort = NtpsecPeer.NtsKePort,
            LocalStratum = 3,
            Allow = ["127.0.0.1"],
        });
        await using NtpsecPeer ntpd = await NtpsecPeer.StartNtsClientAsync(_paths, _output, "localhost", _pki.CaFile);

        IReadOnlyDictionary<string, long> counters = await Poll.UntilAsync(
            ntpd.NtsCountersAsync,
            c => c.GetValueOrDefault("NTS client recvs good") >= 2,
            TimeSpan.FromSeconds(40),
            TimeSpan.FromSeconds(1));

        string context = $"\nntpq -c nts: {string.Join(", ", counters)}\n--- ntpd log ---\n{ntpd.Log}\n--- tempusd ---\n{tempusd.Log}";
        Assert.True(counters.GetValueOrDefault("NTS KE client probes good") == 1, $"expected one successful NTS-KE{context}");
        Assert.True(counters.GetValueOrDefault("NTS client recvs good") >= 2, $"ntpd got fewer than 2 good NTS responses from tempusd{context}");
        Assert.True(counters.GetValueOrDefault("NTS client recvs w error") == 0, $"ntpd rejected NTS responses from tempusd{context}");
        Assert.Contains($"NTSc: Using port {tempusd.Port}", ntpd.Log);
        Assert.Contains("aead=15", ntpd.Log);

        CommandResult peers = await Poll.UntilAsync(
            () => ntpd.NtpqAsync("-p", NtpsecPeer.Address),
            SelectsTempusd,
            TimeSpan.FromSeconds(30),
            TimeSpan.FromSeconds(1));
        Assert.True(
            SelectsTempusd(peers),
            $"ntpd did not select tempusd (no '*127.0.0.1' in ntpq -p){context}\n{peers}");
    }

    private static bool SelectsTempusd(CommandResult peers) =>
        peers.Stdout.Split('\n').Any(line => line.StartsWith("*127.0.0.1", StringComparison.Ordinal));
}
