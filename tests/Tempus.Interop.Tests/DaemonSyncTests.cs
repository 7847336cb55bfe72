using System.Text.Json;
using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// Issue 4's integration: tempusd (clock control off, -x) as a client synchronizing from chronyd over NTS and
// from another tempusd over NTS and with a symmetric key, on loopback, and every tempusctl view showing it.
[Collection(InteropCollectionDefinition.Name)]
public sealed class DaemonSyncTests : IDisposable
{
    private static readonly TimeSpan s_syncWithin = TimeSpan.FromSeconds(60);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;
    private readonly TestPki _pki = new();

    public DaemonSyncTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    public void Dispose() => _pki.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task TempusdSynchronizesFromChronydOverNts()
    {
        await using ChronydPeer chronyd = await ChronydPeer.StartNtsServerAsync(_paths, _output, _pki.Localhost, localStratum: 5);
        await using TempusDaemon client = await StartClientAsync(
            $"ntstrustedcerts {_pki.CaFile}",
            $"server localhost port {chronyd.Port} nts ntsport {chronyd.NtsPort} iburst minpoll -2 maxpoll -2");

        JsonElement source = await WaitForSelectedAsync(client, "localhost");

        Assert.Equal(5, source.GetProperty("stratum").GetInt32());
        await AssertTrackingAsync(client, expectedStratum: 6);
        JsonElement auth = await NtsAuthDataAsync(client, "localhost");
        Assert.Equal("Nts", auth.GetProperty("authentication").GetString());
        Assert.Equal(8, auth.GetProperty("ntsCookies").GetInt32());
        Assert.Equal("AES-SIV-CMAC-256", auth.GetProperty("keyType").GetString());
        Assert.True(auth.GetProperty("lastResponseAuthenticated").GetBoolean(), auth.ToString());
        await AssertEveryViewShowsAsync(client, "localhost");
    }

    [Fact(Timeout = 120_000)]
    public async Task TempusdSynchronizesFromTempusdOverNts()
    {
        await using TempusDaemon server = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions
        {
            LocalStratum = 4,
            NtsCertificates = [_pki.Localhost],
        });
        await using TempusDaemon client = await StartClientAsync(
            $"ntstrustedcerts {_pki.CaFile}",
            $"server localhost port {server.Port} nts ntsport {server.NtsPort} iburst minpoll -2 maxpoll -2");

        JsonElement source = await WaitForSelectedAsync(client, "localhost");

        Assert.Equal(4, source.GetProperty("stratum").GetInt32());
        await AssertTrackingAsync(client, expectedStratum: 5);
        JsonElement auth = await NtsAuthDataAsync(client, "localhost");
        Assert.Equal("Nts", auth.GetProperty("authentication").GetString());
        Assert.Equal(8, auth.GetProperty("ntsCookies").GetInt32());
        await AssertEveryViewShowsAsync(client, "localhost");

        // The server sees an authenticated client.
        CommandResult stats = await _ctl.RunAsync("--socket", server.SocketPath, "serverstats", "--json");
        Assert.Equal(0, stats.ExitCode);
        using JsonDocument serverStats = JsonDocument.Parse(stats.Stdout);
        Assert.True(serverStats.RootElement.GetProperty("authenticatedNtpPackets").GetInt64() > 0, stats.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task TempusdSynchronizesFromTempusdWithASymmetricKey()
    {
        using var directory = new TempDirectory("sk");
        string keys = directory.WriteFile("tempus.keys", "7 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        await using TempusDaemon server = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions { LocalStratum = 4, KeyFile = keys });
        int metricsPort = FreePort.Tcp(System.Net.IPAddress.Loopback);
        await using TempusDaemon client = await StartClientAsync(
            $"keyfile {keys}",
            $"server 127.0.0.1 port {server.Port} key 7 iburst minpoll -2 maxpoll -2",
            $"metricsaddress 127.0.0.1:{metricsPort}");

        await WaitForSelectedAsync(client, "127.0.0.1");

        // The OpenMetrics endpoint tells a Prometheus scraper the same.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.Contains("tempus_tracking_synchronized 1", metrics, StringComparison.Ordinal);
        Assert.Contains("source=\"127.0.0.1\"", metrics, StringComparison.Ordinal);
        Assert.EndsWith("# EOF\n", metrics, StringComparison.Ordinal);

        await AssertTrackingAsync(client, expectedStratum: 5);
        JsonElement auth = await SourceViewAsync(client, "authdata", "127.0.0.1");
        Assert.Equal("SymmetricKey", auth.GetProperty("authentication").GetString());
        Assert.Equal(7u, auth.GetProperty("keyId").GetUInt32());
        Assert.Equal(128, auth.GetProperty("keyBits").GetInt32());
        await AssertEveryViewShowsAsync(client, "127.0.0.1");
    }

    [Fact(Timeout = 120_000)]
    public async Task APlainSourceBesideAnNtsSourceNeverSteersUnderTheDefaultAuthSelectMode()
    {
        await using TempusDaemon server = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions
        {
            LocalStratum = 4,
            NtsCertificates = [_pki.Localhost],
        });
        await using TempusDaemon client = await StartClientAsync(
            $"ntstrustedcerts {_pki.CaFile}",
            $"server localhost port {server.Port} nts ntsport {server.NtsPort} iburst minpoll -2 maxpoll -2",
            $"server 127.0.0.1 port {server.Port} iburst minpoll -2 maxpoll -2");

        await WaitForSelectedAsync(client, "localhost");

        JsonElement plain = await SourceViewAsync(client, "selectdata", "127.0.0.1");
        Assert.Equal("Unauthenticated", plain.GetProperty("status").GetString());
        Assert.Contains("cannot steer the clock", plain.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        CommandResult text = await _ctl.RunAsync("--socket", client.SocketPath, "selectdata", "-v");
        Assert.Contains("A 127.0.0.1", text.Stdout, StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("-Q", "(ignored)")]
    [InlineData("-q", "(ignored: -x)")]
    public async Task OneShotModesMeasureOncePrintTheOffsetAndExit(string flag, string verdict)
    {
        using var directory = new TempDirectory("oneshot");
        string keys = directory.WriteFile("tempus.keys", "7 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        await using TempusDaemon server = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions { LocalStratum = 4, KeyFile = keys });
        string config = directory.WriteFile("oneshot.conf", $"keyfile {keys}\nserver 127.0.0.1 port {server.Port} key 7 minpoll -2 maxpoll -2\n");

        // Like chronyd -Q / -q: iburst, one estimate, "System clock wrong by X seconds", exit. -x keeps -q from stepping.
        string[] arguments = flag == "-q" ? [flag, "-x", "-t", "30", "-f", config] : [flag, "-t", "30", "-f", config];
        CommandResult result = await CommandLine.RunAsync(_paths.Tempusd, arguments, TimeSpan.FromSeconds(60), _output);

        Assert.True(result.ExitCode == 0, result.ToString());
        var match = System.Text.RegularExpressions.Regex.Match(result.Stdout, @"System clock wrong by (-?\d+\.\d{6}) seconds (\(.*\))");
        Assert.True(match.Success, result.ToString());
        Assert.Equal(verdict, match.Groups[2].Value);
        // The server shares this machine's clock: the offset is measurement noise.
        Assert.InRange(double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), -0.1, 0.1);
    }

    [Fact(Timeout = 60_000)]
    public async Task OneShotModeWithoutAUsableSourceFailsAfterTheTimeout()
    {
        using var directory = new TempDirectory("oneshot");
        int silent = FreePort.Udp(System.Net.IPAddress.Loopback);
        string config = directory.WriteFile("oneshot.conf", $"server 127.0.0.1 port {silent} minpoll -2 maxpoll -2\n");

        CommandResult result = await CommandLine.RunAsync(_paths.Tempusd, ["-Q", "-t", "3", "-f", config], TimeSpan.FromSeconds(30), _output);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No suitable source for synchronisation", result.Stderr, StringComparison.Ordinal);
    }

    private Task<TempusDaemon> StartClientAsync(params string[] lines) =>
        TempusDaemon.StartAsync(_paths, _output, new TempusdOptions { LocalStratum = 10, ExtraLines = lines });

    private async Task<JsonElement> WaitForSelectedAsync(TempusDaemon client, string name)
    {
        JsonElement? last = null;
        var deadline = DateTime.UtcNow + s_syncWithin;
        while (DateTime.UtcNow < deadline)
        {
            last = await TrySourceAsync(client, "sources", name);
            if (last is { } source && source.GetProperty("status").GetString() == "Selected")
            {
                return source;
            }

            await Task.Delay(500);
        }

        CommandResult sources = await _ctl.RunAsync("--socket", client.SocketPath, "sources", "-v");
        CommandResult auth = await _ctl.RunAsync("--socket", client.SocketPath, "authdata");
        throw new InteropSetupException($"tempusd did not select {name} within {s_syncWithin.TotalSeconds:F0} s; last: {last}\n{sources}\n{auth}\ntempusd log:\n{client.Log}");
    }

    private async Task<JsonElement?> TrySourceAsync(TempusDaemon client, string view, string name)
    {
        CommandResult result = await _ctl.RunAsync("--socket", client.SocketPath, view, "--json");
        if (result.ExitCode != 0)
        {
            return null;
        }

        using JsonDocument document = JsonDocument.Parse(result.Stdout);
        foreach (JsonElement source in document.RootElement.EnumerateArray())
        {
            if (source.GetProperty("name").GetString() == name)
            {
                return source.Clone();
            }
        }

        return null;
    }

    private async Task<JsonElement> SourceViewAsync(TempusDaemon client, string view, string name) =>
        await TrySourceAsync(client, view, name) ?? throw new InteropSetupException($"tempusctl {view} --json shows no source {name}");

    // An NTS source spends a cookie when it sends and gets one back in the response: read during an exchange (250 ms
    // polls, and a loaded machine stretches each exchange) it holds 7. Asked again until it holds 8, as it must
    // between exchanges; a source that lost a cookie per exchange never gets there.
    private Task<JsonElement> NtsAuthDataAsync(TempusDaemon client, string name) =>
        Poll.UntilAsync(
            () => SourceViewAsync(client, "authdata", name),
            auth => auth.TryGetProperty("ntsCookies", out JsonElement cookies) && cookies.GetInt32() == 8,
            TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(100));

    private async Task AssertTrackingAsync(TempusDaemon client, int expectedStratum)
    {
        CommandResult result = await _ctl.RunAsync("--socket", client.SocketPath, "tracking", "--json");
        Assert.Equal(0, result.ExitCode);
        using JsonDocument document = JsonDocument.Parse(result.Stdout);
        JsonElement tracking = document.RootElement;
        Assert.True(tracking.GetProperty("isSynchronized").GetBoolean(), result.Stdout);
        Assert.Equal(expectedStratum, tracking.GetProperty("stratum").GetInt32());
        // Server and client share this machine's clock, so the true offset is 0 and whatever tempusd believes is
        // measurement noise: loopback under a loaded CI machine can add tens of milliseconds, not seconds.
        double lastOffset = tracking.GetProperty("lastOffset").GetDouble();
        double systemTime = tracking.GetProperty("systemTimeOffset").GetDouble();
        Assert.True(Math.Abs(lastOffset) < 0.1 && Math.Abs(systemTime) < 0.1, $"offsets far from 0 on a shared clock: {result.Stdout}\n{client.Log}");
    }

    // Every chronyc-style view answers and names the source, in text, -c CSV and JSON.
    private async Task AssertEveryViewShowsAsync(TempusDaemon client, string name)
    {
        string[][] views = [["sources", "-v"], ["sourcestats", "-v"], ["selectdata", "-v"], ["authdata", "-v"], ["ntpdata"]];
        string[][] formats = [[], ["-c"], ["--json"]];
        foreach (string[] view in views)
        {
            foreach (string[] format in formats)
            {
                CommandResult result = await _ctl.RunAsync(["--socket", client.SocketPath, .. view, .. format]);
                Assert.True(result.ExitCode == 0, result.ToString());
                // ntpdata and the CSV lines give the address (as chronyc -n does); the others name the source as configured.
                Assert.Contains(view[0] == "ntpdata" || format is ["-c"] ? "127.0.0.1" : name, result.Stdout, StringComparison.Ordinal);
            }
        }

        foreach (string view in new[] { "tracking", "activity" })
        {
            CommandResult result = await _ctl.RunAsync("--socket", client.SocketPath, view);
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        CommandResult wait = await _ctl.RunAsync("--socket", client.SocketPath, "waitsync", "5", "0.01");
        Assert.True(wait.ExitCode == 0, wait.ToString());
    }
}
