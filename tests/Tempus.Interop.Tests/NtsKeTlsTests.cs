using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// The running tempusd's NTS-KE listener against GnuTLS's gnutls-cli: RFC 8915 §4 requires ALPN "ntske/1",
// and a client that does not offer it is refused with a TLS no_application_protocol alert (120).
[Collection(InteropCollectionDefinition.Name)]
public sealed class NtsKeTlsTests : IDisposable
{
    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TestPki _pki = new();

    public NtsKeTlsTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
    }

    public void Dispose() => _pki.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task GnutlsClientOfferingNtsKeAlpnCompletesTheHandshakeWithTempusd()
    {
        await using TempusDaemon tempusd = await StartTempusdAsync();

        CommandResult result = await GnutlsCli.HandshakeAsync(_paths, _output, tempusd.NtsPort, _pki.CaFile, "ntske/1");

        string text = result.Stdout + result.Stderr;
        Assert.True(result.ExitCode == 0, $"gnutls-cli failed\n{result}\n--- tempusd ---\n{tempusd.Log}");
        Assert.True(text.Contains("Handshake was completed", StringComparison.Ordinal), $"no completed handshake\n{result}");
        Assert.True(text.Contains("ntske/1", StringComparison.Ordinal), $"ALPN ntske/1 was not negotiated\n{result}");
    }

    [Theory(Timeout = 60_000)]
    [InlineData("")] // no ALPN extension at all
    [InlineData("http/1.1")]
    public async Task GnutlsClientWithoutNtsKeAlpnIsRefusedByTempusd(string offered)
    {
        string[] alpn = offered.Length == 0 ? [] : [offered];
        await using TempusDaemon tempusd = await StartTempusdAsync();

        CommandResult result = await GnutlsCli.HandshakeAsync(_paths, _output, tempusd.NtsPort, _pki.CaFile, alpn);

        string text = result.Stdout + result.Stderr;
        Assert.True(result.ExitCode != 0, $"gnutls-cli completed a handshake without ALPN ntske/1\n{result}");
        Assert.True(text.Contains("Received alert [120]", StringComparison.Ordinal), $"expected a no_application_protocol alert (120)\n{result}");
        Assert.False(text.Contains("Handshake was completed", StringComparison.Ordinal), $"the handshake completed\n{result}");
    }

    private Task<TempusDaemon> StartTempusdAsync() =>
        TempusDaemon.StartAsync(_paths, _output, new TempusdOptions { NtsCertificates = [_pki.Localhost], Allow = ["127.0.0.1"] });
}
