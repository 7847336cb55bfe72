using System.Net;
using System.Net.Sockets;
using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// How `tempusctl query --nts` fails against a real tempusd (and a silent TCP listener): each failure has
// its exit code, and a message that names the cause and the next step (STYLE.md rule 19).
[Collection(InteropCollectionDefinition.Name)]
public sealed class NtsFailureTests : IDisposable
{
    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;
    private readonly TestPki _pki = new();

    public NtsFailureTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    public void Dispose() => _pki.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task CertificateFromAnotherCaFailsTheKeyExchangeAndPointsAtNtstrustedcerts()
    {
        await using TempusDaemon tempusd = await StartTempusdAsync(_pki.Localhost);

        TempusQuery query = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = tempusd.NtsPort, CaFile = _pki.OtherCaFile });

        ExpectKeFailure(query, "ntstrustedcerts");
    }

    [Fact(Timeout = 60_000)]
    public async Task ExpiredCertificateFailsTheKeyExchangeUnlessTimeChecksAreOff()
    {
        await using TempusDaemon tempusd = await StartTempusdAsync(_pki.Expired);

        TempusQuery query = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = tempusd.NtsPort, CaFile = _pki.CaFile });
        ExpectKeFailure(query, "expired", "nocerttimecheck");

        TempusQuery unchecked_ = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = tempusd.NtsPort, CaFile = _pki.CaFile, NoCertTimeCheck = true });
        TempusReport report = Expect.Success(unchecked_);
        Assert.Equal("nts", report.Authentication);
    }

    [Fact(Timeout = 60_000)]
    public async Task CertificateForAnotherNameFailsTheKeyExchange()
    {
        await using TempusDaemon tempusd = await StartTempusdAsync(_pki.OtherName);

        TempusQuery query = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = tempusd.NtsPort, CaFile = _pki.CaFile });

        ExpectKeFailure(query, "hostname mismatch", "localhost", "subjectAltName");
    }

    [Fact(Timeout = 60_000)]
    public async Task NothingListeningOnTheNtsKePortIsUnreachable()
    {
        int port = FreePort.Tcp(IPAddress.Loopback);

        TempusQuery query = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = port, CaFile = _pki.CaFile });

        Expect.Exit(query.Command, TempusCtlExit.Unreachable);
        Assert.True(query.Command.Stderr.Contains("refused", StringComparison.OrdinalIgnoreCase), $"the message does not say the connection was refused\n{query.Command}");
        Assert.True(query.Command.Stderr.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), $"the message does not name the port\n{query.Command}");
    }

    [Fact(Timeout = 60_000)]
    public async Task ListenerThatNeverAnswersTimesOutAndPointsAtTheFirewall()
    {
        // Accepts (the kernel completes the TCP handshake from the backlog) and never says a word.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        TempusQuery query = await _ctl.QueryNtsAsync("localhost", new NtsQueryOptions { NtsPort = port, CaFile = _pki.CaFile, TimeoutSeconds = 2 });

        Expect.Exit(query.Command, TempusCtlExit.Timeout);
        Assert.True(query.Command.Stderr.Contains("timed out", StringComparison.Ordinal), $"the message does not say it timed out\n{query.Command}");
        Assert.True(query.Command.Stderr.Contains($"TCP/{port}", StringComparison.Ordinal), $"the message does not name TCP/{port} for the firewall check\n{query.Command}");
        Assert.True(query.Command.Stderr.Contains("firewall", StringComparison.Ordinal), $"the message does not suggest the firewall\n{query.Command}");
        // Bounded: the 2 s timeout ends it, not the harness's 30 s kill. The margin covers tempusctl's start-up on a
        // loaded CI machine; a query that waited for the silent server forever would be killed and fail above.
        Assert.True(query.Command.Elapsed < TimeSpan.FromSeconds(25), $"the NTS-KE timeout was not bounded\n{query.Command}");
    }

    private static void ExpectKeFailure(TempusQuery query, params string[] mentions)
    {
        Expect.Exit(query.Command, TempusCtlExit.NtsKeFailed);
        foreach (string mention in mentions)
        {
            Assert.True(query.Command.Stderr.Contains(mention, StringComparison.Ordinal), $"the NTS-KE failure does not mention \"{mention}\"\n{query.Command}");
        }

        Assert.True(query.Command.Stdout.Trim().Length == 0, $"a failed query printed a result\n{query.Command}");
    }

    private Task<TempusDaemon> StartTempusdAsync(PemPair certificate) =>
        TempusDaemon.StartAsync(_paths, _output, new TempusdOptions { NtsCertificates = [certificate], Allow = ["127.0.0.1"] });
}
