using System.Net;
using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// NTPsec's ntpdig as an authenticated client of tempusd. ntpdig only queries port 123, so tempusd binds
// 127.0.0.7:123 (any 127/8 address is local on Linux; root may bind port 123).
[Collection(InteropCollectionDefinition.Name)]
public sealed class NtpdigClientTests
{
    private const string Address = "127.0.0.7";

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;

    public NtpdigClientTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
    }

    [Theory(Timeout = 60_000)]
    [InlineData(3, "MD5")]
    [InlineData(11, "SHA1")]
    [InlineData(1, "AES128")]
    public async Task NtpdigVerifiesTempusdResponseMac(int keyId, string keyType)
    {
        using var keys = new TempDirectory("keys");
        SymmetricKey key = SymmetricKey.Random(keyId, keyType);
        string chronyKeys = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile([key]));
        string ntpKeys = keys.WriteFile("ntp.keys", SymmetricKey.NtpFile([key]));
        await using TempusDaemon tempusd = await StartTempusdAsync(chronyKeys);

        NtpdigResult result = await Ntpdig.QueryAsync(_paths, _output, Address, ntpKeys, keyId);

        Expect.Exit(result.Command, 0);
        Assert.True(result.MacVerified, $"ntpdig did not verify tempusd's MAC\n{result.Command}");
        Assert.False(result.MacFailed, $"ntpdig rejected tempusd's MAC\n{result.Command}");
        Assert.Equal(3, result.Stratum);
        Assert.Equal("no-leap", result.Leap);
    }

    [Fact(Timeout = 60_000)]
    public async Task NtpdigWithWrongKeyGetsNoAnswerFromTempusd()
    {
        using var keys = new TempDirectory("keys");
        SymmetricKey key = SymmetricKey.Random(11, "SHA1");
        string chronyKeys = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile([key]));
        string wrongNtpKeys = keys.WriteFile("wrong.keys", SymmetricKey.NtpFile([key.WithRandomValue()]));
        await using TempusDaemon tempusd = await StartTempusdAsync(chronyKeys);

        NtpdigResult unauthenticated = await Ntpdig.QueryAsync(_paths, _output, Address);
        Expect.Exit(unauthenticated.Command, 0);
        NtpdigResult result = await Ntpdig.QueryAsync(_paths, _output, Address, wrongNtpKeys, 11, timeoutSeconds: 2);

        // Without cryptonak, tempusd drops a request whose MAC does not verify, as chronyd does: ntpdig
        // hears nothing and finds "no eligible servers".
        Assert.Null(result.Json);
        Assert.Contains("no eligible servers", result.Command.Stderr, StringComparison.Ordinal);
    }

    private Task<TempusDaemon> StartTempusdAsync(string keyFile)
    {
        return TempusDaemon.StartAsync(_paths, _output, new TempusdOptions
        {
            BindAddress = Address,
            Port = 123,
            KeyFile = keyFile,
            LocalStratum = 3,
        });
    }
}
