using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// tempusctl query against NTPsec 1.2.2's ntpd. What NTPsec does, seen while writing these tests:
// - ntpkeygen 1.2.2 writes ntpkey_AES_<host>.<seconds>: AES-128-CMAC keys only (ids 1-10 as 16 printable
//   characters, 11-20 as 32 hex digits), not the MD5/SHA1 set of classic ntp-keygen -M;
// - with `tos orphan 8 orphanwait 0` and no upstream it answers stratum 0 (unsynchronized) for about a
//   second, then stratum 8, leap "no-leap" (NtpsecPeer waits for that);
// - a request with an unknown key id, an untrusted key or a wrong MAC gets no answer at all (no crypto-NAK).
[Collection(InteropCollectionDefinition.Name)]
public sealed class NtpsecServerTests
{
    private const string Host = NtpsecPeer.Address;
    private static readonly TimeSpan s_serveWithin = TimeSpan.FromSeconds(15);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;

    public NtpsecServerTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(1)] // AES, key given as 16 printable characters
    [InlineData(11)] // AES, key given as 32 hex digits
    public async Task QueryWithNtpkeygenKeyIsAuthenticatedByNtpsec(int keyId)
    {
        using var keys = new TempDirectory("ntpkeygen");
        string keyFile = await NtpKeygen.GenerateAsync(_paths, _output, keys.FullPath);
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, trustedKeys: [1, 11]);

        TempusQuery query = await _ctl.QueryUntilAsync(Host, NtpsecPeer.Port, report => report.Stratum == 8, s_serveWithin, keyId, keyFile);

        TempusReport report = Expect.Authenticated(query, keyId, "AES128");
        Assert.Equal(8, report.Stratum);
        Assert.Equal("none", report.Leap);
        Expect.SaneTiming(report, query);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(3, "MD5")]
    [InlineData(4, "SHA1")]
    public async Task QueryWithDigestKeyIsAuthenticatedByNtpsec(int keyId, string keyType)
    {
        using var keys = new TempDirectory("keys");
        string keyFile = keys.WriteFile("ntp.keys", SymmetricKey.NtpFile([SymmetricKey.Random(3, "MD5"), SymmetricKey.Random(4, "SHA1")]));
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, trustedKeys: [3, 4]);

        TempusQuery query = await _ctl.QueryUntilAsync(Host, NtpsecPeer.Port, report => report.Stratum == 8, s_serveWithin, keyId, keyFile);

        TempusReport report = Expect.Authenticated(query, keyId, keyType);
        Assert.Equal(8, report.Stratum);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryWithoutKeyIsUnauthenticated()
    {
        using var keys = new TempDirectory("ntpkeygen");
        string keyFile = await NtpKeygen.GenerateAsync(_paths, _output, keys.FullPath);
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, trustedKeys: [1, 11]);

        TempusQuery query = await _ctl.QueryUntilAsync(Host, NtpsecPeer.Port, report => report.Stratum == 8, s_serveWithin);

        TempusReport report = Expect.Success(query);
        Assert.Equal("none", report.Authentication);
        Assert.Null(report.KeyId);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryWithWrongKeyValueTimesOut()
    {
        using var keys = new TempDirectory("ntpkeygen");
        string keyFile = await NtpKeygen.GenerateAsync(_paths, _output, keys.FullPath);
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, trustedKeys: [1, 11]);
        Expect.Authenticated(await _ctl.QueryUntilAsync(Host, NtpsecPeer.Port, report => report.Stratum == 8, s_serveWithin, 11, keyFile), 11, "AES128");
        string wrongKeyFile = keys.WriteFile("wrong.keys", SymmetricKey.NtpFile([SymmetricKey.Random(11, "AES128")]));

        TempusQuery query = await _ctl.QueryAsync(Host, NtpsecPeer.Port, keyId: 11, keyFile: wrongKeyFile);

        Expect.TimedOut(query, Host);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryWithUntrustedKeyTimesOut()
    {
        using var keys = new TempDirectory("ntpkeygen");
        string keyFile = await NtpKeygen.GenerateAsync(_paths, _output, keys.FullPath);
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, trustedKeys: [1, 11]);
        Expect.Authenticated(await _ctl.QueryUntilAsync(Host, NtpsecPeer.Port, report => report.Stratum == 8, s_serveWithin, 11, keyFile), 11, "AES128");

        // Key 5 is in ntpd's key file but not in its trustedkey list.
        TempusQuery query = await _ctl.QueryAsync(Host, NtpsecPeer.Port, keyId: 5, keyFile: keyFile);

        Expect.TimedOut(query, Host);
    }
}
