using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// chronyd -x as an authenticated client of tempusd: chrony must select tempusd as its source and report
// symmetric-key authentication with the configured key.
[Collection(InteropCollectionDefinition.Name)]
public sealed class ChronydClientTests
{
    private static readonly TimeSpan s_selectWithin = TimeSpan.FromSeconds(60);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;

    public ChronydClientTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
    }

    [Theory(Timeout = 90_000)]
    [InlineData(11, "SHA1", 160)]
    [InlineData(1, "AES128", 128)]
    [InlineData(3, "MD5", 160)]
    public async Task ChronydSelectsTempusdAndAuthenticatesIt(int keyId, string keyType, int keyBits)
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile(
        [
            SymmetricKey.Random(1, "AES128"),
            SymmetricKey.Random(3, "MD5"),
            SymmetricKey.Random(11, "SHA1"),
        ]));
        await using TempusDaemon tempusd = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions { KeyFile = keyFile, LocalStratum = 3 });
        await using ChronydPeer chronyd = await ChronydPeer.StartClientAsync(_paths, _output, keyFile, tempusd.Address, tempusd.Port, keyId);

        ChronySource source = await chronyd.WaitForSelectedSourceAsync(tempusd.Address, s_selectWithin);

        Assert.Equal(3, source.Stratum);
        ChronyAuthData auth = Assert.Single(await chronyd.AuthDataAsync(), a => a.Address == tempusd.Address);
        Assert.Equal("SK", auth.Mode);
        Assert.Equal(keyId, auth.KeyId);
        Assert.Equal(ChronyAuthData.TypeOf(keyType), auth.Type);
        Assert.Equal(keyBits, auth.KeyLength);
        Assert.Empty(chronyd.KeyFileErrors);
    }

    [Fact(Timeout = 90_000)]
    public async Task ChronydSelectsTempusdOverIpv6()
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile([SymmetricKey.Random(11, "SHA1")]));
        await using TempusDaemon tempusd = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions
        {
            BindAddress = "::1",
            Allow = ["::1"],
            KeyFile = keyFile,
            LocalStratum = 3,
        });
        await using ChronydPeer chronyd = await ChronydPeer.StartClientAsync(_paths, _output, keyFile, "::1", tempusd.Port, 11);

        ChronySource source = await chronyd.WaitForSelectedSourceAsync("::1", s_selectWithin);

        Assert.Equal(3, source.Stratum);
        ChronyAuthData auth = Assert.Single(await chronyd.AuthDataAsync());
        Assert.Equal(("SK", 11), (auth.Mode, auth.KeyId));
    }
}
