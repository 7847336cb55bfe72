using System.Diagnostics;
using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// NTS (RFC 8915) between Tempus and chrony 4.3, both ways. What chrony 4.3 does, seen while writing these:
// - as a client it offers only AEAD 15 (AES-SIV-CMAC-256, 256-bit keys) and keeps 8 cookies;
// - as a server it speaks only AEAD 15: an offer of 17 or 30 alone gets an Error record or a response
//   without an AEAD, which tempusctl reports as "supports none of the AEAD algorithms offered";
// - it sends an NTPv4 Port record when its own NTP port is not 123 (RFC 8915 §4.1.8);
// - `chronyc authdata` for an NTS source: KeyID is chrony's context id, one more after every successful
//   NTS-KE (1 after the first), and Last is the age of that key exchange in seconds.
[Collection(InteropCollectionDefinition.Name)]
public sealed class NtsChronydTests : IDisposable
{
    private const int AesSivCmac256 = 15;
    private static readonly TimeSpan s_selectWithin = TimeSpan.FromSeconds(60);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;
    private readonly TestPki _pki = new();

    public NtsChronydTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    public void Dispose() => _pki.Dispose();

    [Fact(Timeout = 90_000)]
    public async Task ChronydSelectsTempusdAsAnNtsSource()
    {
        await using TempusDaemon tempusd = await StartTempusdAsync(new TempusdOptions());
        await using ChronydPeer chronyd = await ChronydPeer.StartNtsClientAsync(_paths, _output, "localhost", tempusd.Port, tempusd.NtsPort, _pki.CaFile);

        ChronySource source = await chronyd.WaitForSelectedSourceAsync(tempusd.Address, s_selectWithin);

        Assert.Equal(3, source.Stratum);
        // chronyd spends a cookie when it sends and gets one back in the response: read during an exchange (250 ms
        // polls, and a loaded machine stretches each exchange) it holds 7. Between exchanges it must hold 8 again.
        ChronyAuthData auth = await Poll.UntilAsync(
            async () => Assert.Single(await chronyd.AuthDataAsync(), a => a.Address == tempusd.Address),
            a => a.Cookies == 8,
            TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(100));
        string context = $"\n{auth}\nchronyd log:\n{chronyd.Log}";
        Assert.True(auth.Mode == "NTS", $"chronyc authdata mode is {auth.Mode}, expected NTS{context}");
        Assert.True(auth.Type == AesSivCmac256, $"AEAD {auth.Type}, expected 15{context}");
        Assert.True(auth.KeyLength == 256, $"key length {auth.KeyLength}, expected 256{context}");
        Assert.True(auth.Cookies == 8, $"chronyd holds {auth.Cookies} cookies, expected 8 (RFC 8915 §5.7 refills one per response){context}");
        Assert.True(auth.Nak == 0, $"chronyd got an NTS NAK{context}");
    }

    [Fact(Timeout = 60_000)]
    public async Task TempusctlAuthenticatesChronydWithNts()
    {
        await using ChronydPeer chronyd = await ChronydPeer.StartNtsServerAsync(_paths, _output, _pki.Localhost, localStratum: 5);

        TempusQuery query = await Poll.UntilAsync(
            () => _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = chronyd.NtsPort, CaFile = _pki.CaFile }),
            q => q.Command.ExitCode is not (TempusCtlExit.Timeout or TempusCtlExit.Unreachable),
            TimeSpan.FromSeconds(15),
            TimeSpan.FromSeconds(1));

        TempusReport report = Expect.Success(query);
        NtsReport nts = report.Nts;
        Assert.Equal("nts", report.Authentication);
        Assert.Equal(5, report.Stratum);
        Assert.Equal(AesSivCmac256, nts.Aead);
        // RFC 8915 §5.7: 8 cookies from NTS-KE, one spent and one returned by the NTP response.
        Assert.Equal(8, nts.CookiesHeld);
        Assert.True(nts.KeyExchanges is null or 1, $"keyExchanges {nts.KeyExchanges}\n{query.Command}");
        Assert.True(nts.Naks is null or 0, $"naks {nts.Naks}\n{query.Command}");
        Assert.Equal(chronyd.NtsPort, nts.KePort);
        // chrony named its non-123 NTP port in a Port record; tempusctl had no --port.
        Assert.Equal(chronyd.Port, nts.NtpPort);
        Assert.Equal(chronyd.Port, report.Port);
        Expect.SaneTiming(report, query);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(30)]
    [InlineData(17)]
    public async Task TempusctlOfferingOnlyAnAeadChronydLacksFailsTheKeyExchange(int aead)
    {
        await using ChronydPeer chronyd = await ChronydPeer.StartNtsServerAsync(_paths, _output, _pki.Localhost, localStratum: 5);

        TempusQuery query = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = chronyd.NtsPort, CaFile = _pki.CaFile, Aeads = [aead] });

        Expect.Exit(query.Command, TempusCtlExit.NtsKeFailed);
        Assert.True(query.Command.Stderr.Contains("AEAD", StringComparison.Ordinal), $"the failure does not say it is about the AEAD\n{query.Command}");
        Assert.True(query.Command.Stdout.Trim().Length == 0, $"a failed query printed a result\n{query.Command}");
    }

    // RFC 8915 §6: cookies stay valid across a server restart when the master keys are kept (ntsdumpdir).
    [Fact(Timeout = 120_000)]
    public async Task RestartedTempusdWithItsDumpDirectoryAcceptsCookiesIssuedBeforeTheRestart()
    {
        using var dump = new TempDirectory("ntsdump");
        var options = new TempusdOptions { NtsDumpDirectory = dump.FullPath };
        await using TempusDaemon first = await StartTempusdAsync(options);
        var fixedPorts = options with { Port = first.Port, NtsPort = first.NtsPort };
        await using ChronydPeer chronyd = await StartClientAndWaitForSelectionAsync(first);
        ChronyAuthData before = await NtsAuthDataAsync(chronyd);
        Assert.True(File.Exists(dump.PathOf("ntskeys")), $"tempusd wrote no ntskeys in its ntsdumpdir {dump.FullPath}\n{first.Log}");

        var sinceRestart = Stopwatch.StartNew();
        await first.DisposeAsync();
        await using TempusDaemon second = await StartTempusdAsync(fixedPorts);
        int validAtRestart = await chronyd.ValidResponsesAsync(second.Address);
        int valid = await Poll.UntilAsync(() => chronyd.ValidResponsesAsync(second.Address), count => count >= validAtRestart + 8, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));

        // The time is read before chronyc runs: read after, it also counted chronyc's exit and our parsing (over a
        // second on a loaded machine), time the key's age reported by chronyd could not include. chronyc is asked
        // again while an exchange is under way (a cookie spent, its replacement not yet back: 7).
        TimeSpan restartedFor = sinceRestart.Elapsed;
        ChronyAuthData after = await Poll.UntilAsync(() => NtsAuthDataAsync(chronyd), a => a.Cookies == 8, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        string context = $"\nbefore restart: {before}\nafter: {after}\nchronyd log:\n{chronyd.Log}\nsecond tempusd:\n{second.Log}";
        Assert.True(valid >= validAtRestart + 8, $"chronyd got {valid - validAtRestart} valid responses from the restarted tempusd, expected 8 or more{context}");
        // No new key exchange: the same NTS context, and its age kept counting from before the restart.
        Assert.True(after.KeyId == before.KeyId,
            $"chronyd ran NTS-KE again after the restart (context {before.KeyId} -> {after.KeyId}){context}");
        Assert.True(after.LastKeyChange >= before.LastKeyChange + (int)restartedFor.TotalSeconds - 1,
            $"chronyd's NTS keys are younger than the restart (Last went from {before.LastKeyChange} to {after.LastKeyChange} s in {restartedFor.TotalSeconds:F0} s){context}");
        Assert.Equal(0, after.Attempts);
        Assert.Equal(8, after.Cookies);
    }

    // Without ntsdumpdir the restarted server has new master keys: it answers the old cookies with an NTS
    // NAK (RFC 8915 §5.7), and the client recovers with a new key exchange.
    [Fact(Timeout = 120_000)]
    public async Task RestartedTempusdWithoutDumpDirectoryMakesChronydRunNtsKeAgain()
    {
        var options = new TempusdOptions();
        await using TempusDaemon first = await StartTempusdAsync(options);
        var fixedPorts = options with { Port = first.Port, NtsPort = first.NtsPort };
        await using ChronydPeer chronyd = await StartClientAndWaitForSelectionAsync(first);
        await Task.Delay(TimeSpan.FromSeconds(3));
        ChronyAuthData before = await NtsAuthDataAsync(chronyd);

        await first.DisposeAsync();
        var sinceRestart = Stopwatch.StartNew();
        await using TempusDaemon second = await StartTempusdAsync(fixedPorts);
        ChronyAuthData after = await Poll.UntilAsync(
            () => NtsAuthDataAsync(chronyd),
            auth => auth.KeyId > before.KeyId && auth.Cookies == 8,
            TimeSpan.FromSeconds(40),
            TimeSpan.FromSeconds(1));

        string context = $"\nbefore restart: {before}\nafter: {after}\nchronyd log:\n{chronyd.Log}\nsecond tempusd:\n{second.Log}";
        Assert.True(after.KeyId > before.KeyId,
            $"chronyd did not run NTS-KE again within 40 s of the restart (context {before.KeyId} -> {after.KeyId}){context}");
        Assert.True(after.LastKeyChange <= sinceRestart.Elapsed.TotalSeconds + 1,
            $"chronyd's NTS keys are older than the restart (Last {after.LastKeyChange} s){context}");
        Assert.Equal(8, after.Cookies);
        await chronyd.WaitForSelectedSourceAsync(second.Address, s_selectWithin);
    }

    private Task<TempusDaemon> StartTempusdAsync(TempusdOptions options) =>
        TempusDaemon.StartAsync(_paths, _output, options with { NtsCertificates = [_pki.Localhost], LocalStratum = 3, Allow = ["127.0.0.1"] });

    private async Task<ChronydPeer> StartClientAndWaitForSelectionAsync(TempusDaemon tempusd)
    {
        ChronydPeer chronyd = await ChronydPeer.StartNtsClientAsync(_paths, _output, "localhost", tempusd.Port, tempusd.NtsPort, _pki.CaFile);
        try
        {
            await chronyd.WaitForSelectedSourceAsync(tempusd.Address, s_selectWithin);
            return chronyd;
        }
        catch
        {
            await chronyd.DisposeAsync();
            throw;
        }
    }

    private static async Task<ChronyAuthData> NtsAuthDataAsync(ChronydPeer chronyd)
    {
        ChronyAuthData auth = Assert.Single(await chronyd.AuthDataAsync());
        Assert.True(auth.Mode == "NTS", $"chronyc authdata mode is {auth.Mode}, expected NTS");
        return auth;
    }
}
