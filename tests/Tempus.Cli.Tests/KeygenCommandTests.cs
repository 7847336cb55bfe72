using System.Text.RegularExpressions;
using Tempus.Auth;

namespace Tempus.Cli.Tests;

public sealed partial class KeygenCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempusctl-keygen-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"^1 SHA1 HEX:[0-9A-F]{40}\n$")]
    private static partial Regex DefaultLine();

    [GeneratedRegex(@"^7 AES128 HEX:[0-9A-F]{32}\n$")]
    private static partial Regex AesLine();

    [GeneratedRegex(@"^9 SHA256 HEX:[0-9A-F]{64}\n$")]
    private static partial Regex Sha256Line();

    [Fact]
    public async Task DefaultIsOneSha1KeyLikeChronycKeygen()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("keygen");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(DefaultLine(), result.Stdout);
    }

    [Fact]
    public async Task IdTypeAndBitsAreHonoured()
    {
        Assert.Matches(AesLine(), (await Tempusctl.RunAsync("keygen", "7", "AES128")).Stdout);
        Assert.Matches(Sha256Line(), (await Tempusctl.RunAsync("keygen", "9", "SHA256", "256")).Stdout);
    }

    [Theory]
    [InlineData("keygen", "7", "AES128", "100")]
    [InlineData("keygen", "7", "BLAKE3")]
    [InlineData("keygen", "7", "SHA1", "12")]
    [InlineData("keygen", "x")]
    public async Task BadKeygenArgumentsAreUsageErrors(params string[] args)
    {
        Tempusctl.Result result = await Tempusctl.RunAsync(args);
        Assert.Equal(2, result.ExitCode);
        Assert.NotEmpty(result.Stderr);
    }

    [Theory]
    [InlineData("chrony")]
    [InlineData("ntp")]
    public async Task OutputWritesAModernKeySetReadableOnlyByItsOwner(string format)
    {
        string path = Path.Combine(_dir, $"keys.{format}");
        Tempusctl.Result result = await Tempusctl.RunAsync("keygen", "--output", path, "--format", format);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Load(path, warnings);
        Assert.Equal(20, keys.Count);
        Assert.All(keys.Where(k => k.Id <= 10), k => Assert.Equal(MacAlgorithm.Aes128Cmac, k.Algorithm));
        Assert.All(keys.Where(k => k.Id > 10), k => Assert.Equal(MacAlgorithm.Sha1, k.Algorithm));
        if (format == "chrony")
        {
            Assert.Empty(warnings);
        }
        else
        {
            // ntp.keys hex keys without a prefix are what chrony would misread as ASCII: the loader says so.
            Assert.All(warnings, w => Assert.Contains("read as hex", w.Message, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task NtpKeygenModeWritesTheFileAndTheNtpKeysLink()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("keygen", "--ntp-keygen", "--dir", _dir);
        Assert.Equal(0, result.ExitCode);
        string link = Path.Combine(_dir, "ntp.keys");
        FileSystemInfo? target = new FileInfo(link).ResolveLinkTarget(returnFinalTarget: false);
        Assert.NotNull(target);
        Assert.StartsWith("ntpkey_MD5key_", Path.GetFileName(target!.FullName), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target.FullName));

        IReadOnlyList<SymmetricKey> keys = KeyFile.Load(link, new List<KeyFileWarning>());
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (uint)i), keys.Select(k => k.Id).Order());
        Assert.All(keys.Where(k => k.Id <= 10), k => Assert.Equal(MacAlgorithm.Md5, k.Algorithm));
        Assert.All(keys.Where(k => k.Id > 10), k => Assert.Equal(MacAlgorithm.Sha1, k.Algorithm));
    }
}
