using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// The peers against each other, with no Tempus binary involved: when a Tempus interop test fails and
// these pass, the harness and the peers are fine and the difference is Tempus.
[Collection(InteropCollectionDefinition.Name)]
public sealed class PeerBaselineTests
{
    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;

    public PeerBaselineTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
    }

    [Fact(Timeout = 90_000)]
    public async Task ChronydClientAuthenticatesChronydServerWithAes128Key()
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile([SymmetricKey.Random(2, "AES128")]));
        await using ChronydPeer server = await ChronydPeer.StartServerAsync(_paths, _output, keyFile, localStratum: 8);
        await using ChronydPeer client = await ChronydPeer.StartClientAsync(_paths, _output, keyFile, "127.0.0.1", server.Port, 2);

        ChronySource source = await client.WaitForSelectedSourceAsync("127.0.0.1", TimeSpan.FromSeconds(60));

        Assert.Equal(8, source.Stratum);
        ChronyAuthData auth = Assert.Single(await client.AuthDataAsync());
        Assert.Equal(("SK", 2, ChronyAuthData.TypeOf("AES128"), 128), (auth.Mode, auth.KeyId, auth.Type, auth.KeyLength));
    }

    [Fact(Timeout = 60_000)]
    public async Task NtpdigAuthenticatesNtpsecWithNtpkeygenKeys()
    {
        using var keys = new TempDirectory("ntpkeygen");
        string keyFile = await NtpKeygen.GenerateAsync(_paths, _output, keys.FullPath);
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, trustedKeys: [1, 11]);
        Assert.Equal(20, ntpd.KeysAdded);

        foreach (int keyId in new[] { 1, 11 })
        {
            NtpdigResult result = await Ntpdig.QueryAsync(_paths, _output, NtpsecPeer.Address, keyFile, keyId);
            Expect.Exit(result.Command, 0);
            Assert.True(result.MacVerified, $"ntpdig did not verify ntpd's MAC with key {keyId}\n{result.Command}");
            Assert.Equal(8, result.Stratum);
        }
    }
}
