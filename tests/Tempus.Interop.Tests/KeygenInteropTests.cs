using System.Text.RegularExpressions;
using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// Key files written by tempusctl keygen, loaded by the real peers: chrony-format files by chronyd (a
// chronyd client authenticating a chronyd server with them, so only the file is under test), ntp-format
// and ntp-keygen-style files by NTPsec's ntpd, checked with both tempusctl query and NTPsec's ntpdig.
[Collection(InteropCollectionDefinition.Name)]
public sealed partial class KeygenInteropTests
{
    private static readonly TimeSpan s_selectWithin = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_serveWithin = TimeSpan.FromSeconds(15);
    private static readonly int[] s_allKeyIds = [.. Enumerable.Range(1, 20)];

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempusCtl _ctl;

    public KeygenInteropTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
        _ctl = new TempusCtl(paths, output);
    }

    [Theory(Timeout = 90_000)]
    [InlineData(1, "AES128", 128)]
    [InlineData(11, "SHA1", 160)]
    public async Task ChronydAuthenticatesWithChronyKeyFileFromTempusctlKeygen(int keyId, string keyType, int keyBits)
    {
        using var keys = new TempDirectory("keygen");
        string keyFile = keys.PathOf("chrony.keys");
        Expect.Exit(await _ctl.RunAsync("keygen", "--output", keyFile, "--format", "chrony"), 0);
        Assert.True(File.Exists(keyFile), $"tempusctl keygen --output did not write {keyFile}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        _output.WriteLine($"{keyFile}:\n{File.ReadAllText(keyFile)}");

        await AssertChronydAuthenticatesAsync(keyFile, keyId, keyType, keyBits);
    }

    [Theory(Timeout = 90_000)]
    [InlineData("7", "SHA1", 160)]
    [InlineData("8", "AES128", 128)]
    [InlineData("9", "MD5", 160)]
    public async Task ChronydAuthenticatesWithKeyLinePrintedByTempusctlKeygen(string keyId, string keyType, int keyBits)
    {
        CommandResult keygen = await _ctl.RunAsync("keygen", keyId, keyType);
        Expect.Exit(keygen, 0);
        string line = keygen.Stdout.Trim();
        Assert.Matches(ChronyKeyLinePattern(), line);
        Assert.StartsWith($"{keyId} {keyType} HEX:", line, StringComparison.Ordinal);
        using var keys = new TempDirectory("keygen");
        string keyFile = keys.WriteFile("chrony.keys", line + "\n");

        await AssertChronydAuthenticatesAsync(keyFile, int.Parse(keyId, System.Globalization.CultureInfo.InvariantCulture), keyType, keyBits);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(1, "AES128")]
    [InlineData(11, "SHA1")]
    public async Task NtpsecAuthenticatesTempusctlWithNtpKeyFileFromTempusctlKeygen(int keyId, string keyType)
    {
        using var keys = new TempDirectory("keygen");
        string keyFile = await WriteNtpFormatKeysAsync(keys);
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, s_allKeyIds);
        Assert.True(ntpd.KeysAdded == 20, $"ntpd loaded {ntpd.KeysAdded?.ToString() ?? "no"} keys from {keyFile}, expected 20\n{ntpd.Log}");

        TempusQuery query = await _ctl.QueryUntilAsync(NtpsecPeer.Address, NtpsecPeer.Port, report => report.Stratum == 8, s_serveWithin, keyId, keyFile);

        Expect.Authenticated(query, keyId, keyType);
    }

    // NTPsec's own client reading the same file: the file is valid NTPsec syntax, not only Tempus syntax.
    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(11)]
    public async Task NtpdigAuthenticatesNtpsecWithNtpKeyFileFromTempusctlKeygen(int keyId)
    {
        using var keys = new TempDirectory("keygen");
        string keyFile = await WriteNtpFormatKeysAsync(keys);
        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, keyFile, s_allKeyIds);

        NtpdigResult result = await Ntpdig.QueryAsync(_paths, _output, NtpsecPeer.Address, keyFile, keyId);

        Expect.Exit(result.Command, 0);
        Assert.True(result.MacVerified, $"ntpdig did not verify ntpd's MAC with key {keyId} of {keyFile}\n{result.Command}");
    }

    [Fact(Timeout = 60_000)]
    public async Task NtpsecLoadsNtpKeygenStyleFileFromTempusctl()
    {
        using var keys = new TempDirectory("keygen");
        Expect.Exit(await _ctl.RunAsync("keygen", "--ntp-keygen", "--dir", keys.FullPath), 0);
        string link = keys.PathOf("ntp.keys");
        var linkInfo = new FileInfo(link);
        Assert.True(linkInfo.Exists && linkInfo.LinkTarget is not null, $"{link} is not a symbolic link");
        Assert.Matches(NtpKeygenFileNamePattern(), Path.GetFileName(linkInfo.LinkTarget));
        _output.WriteLine($"{link} -> {linkInfo.LinkTarget}:\n{File.ReadAllText(link)}");
        IReadOnlyList<(int Id, string Type, string Key)> lines = NtpKeygen.ReadKeys(link);
        Assert.Equal(s_allKeyIds, lines.Select(l => l.Id));
        Assert.All(lines.Take(10), l => Assert.True(l.Type == "MD5" && l.Key.Length == 20, $"key {l.Id}: {l.Type} {l.Key}"));
        Assert.All(lines.Skip(10), l => Assert.True(l.Type == "SHA1" && l.Key.Length == 40, $"key {l.Id}: {l.Type} {l.Key}"));

        await using NtpsecPeer ntpd = await NtpsecPeer.StartAsync(_paths, _output, link, s_allKeyIds);
        Assert.True(ntpd.KeysAdded == 20, $"ntpd loaded {ntpd.KeysAdded?.ToString() ?? "no"} keys from {link}, expected 20\n{ntpd.Log}");

        Expect.Authenticated(await _ctl.QueryUntilAsync(NtpsecPeer.Address, NtpsecPeer.Port, report => report.Stratum == 8, s_serveWithin, 11, link), 11, "SHA1");
        Expect.Authenticated(await _ctl.QueryAsync(NtpsecPeer.Address, NtpsecPeer.Port, 1, link), 1, "MD5");
        NtpdigResult ntpdig = await Ntpdig.QueryAsync(_paths, _output, NtpsecPeer.Address, link, 1);
        Assert.True(ntpdig.MacVerified, $"ntpdig did not verify ntpd's MAC with MD5 key 1 of {link}\n{ntpdig.Command}");
    }

    private async Task<string> WriteNtpFormatKeysAsync(TempDirectory keys)
    {
        string keyFile = keys.PathOf("ntp.keys");
        Expect.Exit(await _ctl.RunAsync("keygen", "--output", keyFile, "--format", "ntp"), 0);
        Assert.True(File.Exists(keyFile), $"tempusctl keygen --output did not write {keyFile}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        _output.WriteLine($"{keyFile}:\n{File.ReadAllText(keyFile)}");
        return keyFile;
    }

    // A chronyd server and a chronyd client sharing the key file: chrony selecting the server with SK
    // authentication proves chronyd parsed the key.
    private async Task AssertChronydAuthenticatesAsync(string keyFile, int keyId, string keyType, int keyBits)
    {
        await using ChronydPeer server = await ChronydPeer.StartServerAsync(_paths, _output, keyFile, localStratum: 8);
        await using ChronydPeer client = await ChronydPeer.StartClientAsync(_paths, _output, keyFile, "127.0.0.1", server.Port, keyId);

        ChronySource source = await client.WaitForSelectedSourceAsync("127.0.0.1", s_selectWithin);

        Assert.Equal(8, source.Stratum);
        ChronyAuthData auth = Assert.Single(await client.AuthDataAsync());
        Assert.Equal("SK", auth.Mode);
        Assert.Equal(keyId, auth.KeyId);
        Assert.Equal(ChronyAuthData.TypeOf(keyType), auth.Type);
        Assert.Equal(keyBits, auth.KeyLength);
        Assert.Empty(server.KeyFileErrors);
        Assert.Empty(client.KeyFileErrors);
    }

    [GeneratedRegex(@"^\d+ (MD5|SHA1|SHA256|SHA512|AES128|AES256) HEX:[0-9A-Fa-f]+$")]
    private static partial Regex ChronyKeyLinePattern();

    // ntp-keygen -M: ntpkey_MD5key_<host>.<NTP seconds>.
    [GeneratedRegex(@"^ntpkey_MD5key_.+\.\d+$")]
    private static partial Regex NtpKeygenFileNamePattern();
}
