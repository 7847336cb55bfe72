using System.Text.Json;
using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// tempusctl audit of a chrony.conf whose NTS source is a real chronyd (NTS-KE and NTP server, -x, test PKI): the
// network checks run NTS-KE, verify the certificate and make one NTS-protected exchange with chrony's server.
[Collection(InteropCollectionDefinition.Name)]
public sealed class AuditInteropTests : IDisposable
{
    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;
    private readonly TestPki _pki = new();
    private readonly TempDirectory _directory = new("audit");

    public AuditInteropTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    public void Dispose()
    {
        _directory.Dispose();
        _pki.Dispose();
    }

    private string ChronyConf(ChronydPeer chronyd) => _directory.WriteFile("chrony.conf", string.Join('\n',
    [
        $"server localhost port {chronyd.Port} nts ntsport {chronyd.NtsPort} iburst",
        $"ntstrustedcerts {_pki.CaFile}",
        "nosystemcert",
        $"ntsdumpdir {_directory.CreateSubdirectory("nts")}",
        "makestep 1 3",
        "authselectmode require",
    ]) + "\n");

    private static List<(string Severity, string? Source, string Code, string Message)> Findings(CommandResult result)
    {
        using JsonDocument json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.GetProperty("findings").EnumerateArray()
            .Select(f => (f.GetProperty("severity").GetString()!, f.GetProperty("source").GetString(), f.GetProperty("code").GetString()!, f.GetProperty("message").GetString()!))
            .ToList();
    }

    [Fact(Timeout = 90_000)]
    public async Task AuditOfAChronyConfFindsNtsInForceWithAChronydServer()
    {
        await using ChronydPeer chronyd = await ChronydPeer.StartNtsServerAsync(_paths, _output, _pki.Localhost, localStratum: 5);
        string config = ChronyConf(chronyd);

        // chronyd serves its local clock a moment after it starts: retry while the NTS exchange is not yet answered.
        CommandResult result = await Poll.UntilAsync(
            () => _ctl.RunAsync("audit", "--config", config, "--json", "--timeout", "3"),
            r => r.Stdout.Contains("\"nts-in-force\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20),
            TimeSpan.FromSeconds(1));

        var findings = Findings(result);
        string context = $"\n{result}\nchronyd log:\n{chronyd.Log}";
        Assert.True(findings.Any(f => f.Code == "nts-in-force" && f.Source == "localhost"), $"no nts-in-force for localhost{context}");
        Assert.True(findings.All(f => f.Severity != "failure"), $"a failure was found{context}");
        // One source only: too-few-sources is the one warning, so the exit code is 1.
        Assert.True(findings.Single(f => f.Severity == "warning").Code == "too-few-sources", $"unexpected warnings{context}");
        Assert.True(result.ExitCode == 1, $"exit code {result.ExitCode}, expected 1{context}");
    }

    [Fact(Timeout = 90_000)]
    public async Task AuditOfAChronyConfReportsAChronydCertificateForAnotherName()
    {
        await using ChronydPeer chronyd = await ChronydPeer.StartNtsServerAsync(_paths, _output, _pki.OtherName, localStratum: 5);
        string config = ChronyConf(chronyd);

        CommandResult result = await Poll.UntilAsync(
            () => _ctl.RunAsync("audit", "--config", config, "--json", "--timeout", "3"),
            r => !r.Stdout.Contains("\"ntske-connection-refused\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20),
            TimeSpan.FromSeconds(1));

        var findings = Findings(result);
        string context = $"\n{result}\nchronyd log:\n{chronyd.Log}";
        var mismatch = findings.SingleOrDefault(f => f.Code == "tls-hostname-mismatch");
        Assert.True(mismatch.Code is not null, $"no tls-hostname-mismatch finding{context}");
        Assert.Equal("failure", mismatch.Severity);
        Assert.Contains("ntp.other.example", mismatch.Message, StringComparison.Ordinal);
        Assert.True(result.ExitCode == 2, $"exit code {result.ExitCode}, expected 2{context}");
    }

    // Live mode: tempusd (-x) as an NTS client of chronyd, with a plain second source pointing at the same chronyd.
    [Theory(Timeout = 120_000)]
    [InlineData("authselectmode mix", "unauthenticated-source-can-steer", 2)]
    [InlineData("", "unauthenticated-source", 1)]
    public async Task LiveAuditOfTempusdShowsNtsInForceAndWhetherThePlainSourceCanSteer(string modeLine, string plainCode, int exitCode)
    {
        await using ChronydPeer chronyd = await ChronydPeer.StartNtsServerAsync(_paths, _output, _pki.Localhost, localStratum: 5);
        await using TempusDaemon client = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions
        {
            LocalStratum = 10,
            ExtraLines =
            [
                $"ntstrustedcerts {_pki.CaFile}",
                $"server localhost port {chronyd.Port} nts ntsport {chronyd.NtsPort} iburst minpoll -2 maxpoll -2",
                $"server 127.0.0.1 port {chronyd.Port} iburst minpoll -2 maxpoll -2",
                modeLine,
            ],
        });

        // The harness writes tempusd.conf beside the control socket; --live asks the daemon and takes authselectmode from the file.
        string config = Path.Combine(Path.GetDirectoryName(client.SocketPath)!, "tempusd.conf");
        CommandResult result = await Poll.UntilAsync(
            () => _ctl.RunAsync("audit", "--socket", client.SocketPath, "--config", config, "--live", "--offline", "--json"),
            r => r.Stdout.Contains("\"nts-in-force\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(1));

        var findings = Findings(result);
        string context = $"\n{result}\ntempusd log:\n{client.Log}";
        Assert.True(findings.Any(f => f.Code == "nts-in-force" && f.Source == "localhost"), $"no nts-in-force for localhost{context}");
        Assert.True(findings.Any(f => f.Code == plainCode && f.Source == "127.0.0.1"), $"no {plainCode} for 127.0.0.1{context}");
        Assert.True(findings.Count(f => f.Source == "127.0.0.1") == 1, $"more than one finding for 127.0.0.1{context}");
        Assert.True(result.ExitCode == exitCode, $"exit code {result.ExitCode}, expected {exitCode}{context}");
    }
}
