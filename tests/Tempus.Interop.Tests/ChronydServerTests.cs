using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// tempusctl query against chronyd -x serving its local clock at stratum 8 with SHA1, AES128 and MD5 keys.
[Collection(InteropCollectionDefinition.Name)]
public sealed class ChronydServerTests
{
    private const string Host = "127.0.0.1";
    private static readonly TimeSpan s_serveWithin = TimeSpan.FromSeconds(15);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;

    public ChronydServerTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    private static SymmetricKey[] ServerKeys() =>
    [
        SymmetricKey.Random(1, "SHA1"),
        SymmetricKey.Random(2, "AES128"),
        SymmetricKey.Random(3, "MD5"),
    ];

    [Theory(Timeout = 60_000)]
    [InlineData(1, "SHA1")]
    [InlineData(2, "AES128")]
    [InlineData(3, "MD5")]
    public async Task QueryIsAuthenticatedByChronydWithEachKeyType(int keyId, string keyType)
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile(ServerKeys()));
        await using ChronydPeer chronyd = await ChronydPeer.StartServerAsync(_paths, _output, keyFile, localStratum: 8);

        TempusQuery query = await _ctl.QueryUntilAsync(Host, chronyd.Port, report => report.Stratum == 8, s_serveWithin, keyId, keyFile);

        TempusReport report = Expect.Authenticated(query, keyId, keyType);
        Assert.Equal(8, report.Stratum);
        Assert.Equal("none", report.Leap);
        Assert.Equal(chronyd.Port, report.Port);
        Expect.SaneTiming(report, query);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryOverIpv6IsAuthenticatedByChronyd()
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile(ServerKeys()));
        await using ChronydPeer chronyd = await ChronydPeer.StartServerAsync(_paths, _output, keyFile, localStratum: 8, address: "::1");

        TempusQuery query = await _ctl.QueryUntilAsync("::1", chronyd.Port, report => report.Stratum == 8, s_serveWithin, 2, keyFile);

        TempusReport report = Expect.Authenticated(query, 2, "AES128");
        Assert.Equal(8, report.Stratum);
        Assert.Equal(chronyd.Port, report.Port);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryWithoutKeyIsUnauthenticated()
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile(ServerKeys()));
        await using ChronydPeer chronyd = await ChronydPeer.StartServerAsync(_paths, _output, keyFile, localStratum: 8);

        TempusQuery query = await _ctl.QueryUntilAsync(Host, chronyd.Port, report => report.Stratum == 8, s_serveWithin);

        TempusReport report = Expect.Success(query);
        Assert.Equal("none", report.Authentication);
        Assert.Null(report.KeyId);
        Assert.Null(report.KeyType);
        Assert.Equal(8, report.Stratum);
        Expect.SaneTiming(report, query);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryWithKeyIdChronydDoesNotHaveTimesOut()
    {
        using var keys = new TempDirectory("keys");
        SymmetricKey[] serverKeys = ServerKeys();
        string serverKeyFile = keys.WriteFile("server.keys", SymmetricKey.ChronyFile(serverKeys));
        string clientKeyFile = keys.WriteFile("client.keys", SymmetricKey.ChronyFile([.. serverKeys, SymmetricKey.Random(4, "SHA1")]));
        await using ChronydPeer chronyd = await ChronydPeer.StartServerAsync(_paths, _output, serverKeyFile);
        await RequireServingAsync(chronyd, clientKeyFile);

        TempusQuery query = await _ctl.QueryAsync(Host, chronyd.Port, keyId: 4, keyFile: clientKeyFile);

        Expect.TimedOut(query, Host);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryWithWrongKeyValueTimesOut()
    {
        using var keys = new TempDirectory("keys");
        SymmetricKey[] serverKeys = ServerKeys();
        string serverKeyFile = keys.WriteFile("server.keys", SymmetricKey.ChronyFile(serverKeys));
        string clientKeyFile = keys.WriteFile("client.keys", SymmetricKey.ChronyFile([serverKeys[0].WithRandomValue(), serverKeys[1]]));
        await using ChronydPeer chronyd = await ChronydPeer.StartServerAsync(_paths, _output, serverKeyFile);
        await RequireServingAsync(chronyd, clientKeyFile);

        TempusQuery query = await _ctl.QueryAsync(Host, chronyd.Port, keyId: serverKeys[0].Id, keyFile: clientKeyFile);

        Expect.TimedOut(query, Host);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryWithKeyIdMissingFromKeyFileIsAKeyProblem()
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile(ServerKeys()));
        await using ChronydPeer chronyd = await ChronydPeer.StartServerAsync(_paths, _output, keyFile);

        TempusQuery query = await _ctl.QueryAsync(Host, chronyd.Port, keyId: 42, keyFile: keyFile);

        Expect.Exit(query.Command, TempusCtlExit.KeyProblem);
        Assert.True(query.Command.Stderr.Contains("42", StringComparison.Ordinal), $"the error does not name key 42\n{query.Command}");
    }

    // A wrong-key test only means something once chronyd answers the right key: otherwise a timeout
    // could be chronyd still starting. Key 2 (AES128) is the same in both files.
    private async Task RequireServingAsync(ChronydPeer chronyd, string clientKeyFile)
    {
        TempusQuery query = await _ctl.QueryUntilAsync(Host, chronyd.Port, report => report.Stratum == 8, s_serveWithin, keyId: 2, keyFile: clientKeyFile);
        Expect.Authenticated(query, 2, "AES128");
    }
}
