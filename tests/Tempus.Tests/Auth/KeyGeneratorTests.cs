using System.Text.RegularExpressions;
using Tempus.Auth;

namespace Tempus.Tests.Auth;

public sealed class KeyGeneratorTests
{
    private static readonly DateTime s_now = new(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    // RFC 5905 §6: NTP seconds count from 1900-01-01.
    private static readonly long s_ntpSeconds = (long)(s_now - new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds;

    [Fact]
    public void ChronyLineDefaultsToKeyOneSha1Of160Bits()
    {
        Assert.Matches("^1 SHA1 HEX:[0-9A-F]{40}$", KeyGenerator.ChronyLine());
    }

    [Theory]
    [InlineData(5u, MacAlgorithm.Aes128Cmac, 999, "^5 AES128 HEX:[0-9A-F]{32}$")]
    [InlineData(6u, MacAlgorithm.Aes256Cmac, 128, "^6 AES256 HEX:[0-9A-F]{64}$")]
    [InlineData(7u, MacAlgorithm.Sha256, 256, "^7 SHA256 HEX:[0-9A-F]{64}$")]
    [InlineData(4294967295u, MacAlgorithm.Md5, 80, "^4294967295 MD5 HEX:[0-9A-F]{20}$")]
    [InlineData(8u, MacAlgorithm.Sha512, 4096, "^8 SHA512 HEX:[0-9A-F]{1024}$")]
    public void ChronyLineHasTheRequestedTypeAndLengthAndParsesBack(uint id, MacAlgorithm algorithm, int bits, string pattern)
    {
        string line = KeyGenerator.ChronyLine(id, algorithm, bits);
        Assert.Matches(pattern, line);
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(line, "generated", []);
        SymmetricKey key = Assert.Single(keys);
        Assert.Equal(id, key.Id);
        KeyFileTests.AssertKey(key, algorithm, Convert.FromHexString(line[(line.IndexOf(':') + 1)..]));
        KeyFileTests.Dispose(keys);
    }

    [Theory]
    [InlineData(0u, 160)]
    [InlineData(1u, 72)]
    [InlineData(1u, 161)]
    [InlineData(1u, 4104)]
    public void ChronyLineRefusesBadIdsAndLengths(uint id, int bits)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyGenerator.ChronyLine(id, MacAlgorithm.Sha1, bits));
    }

    [Fact]
    public void TwoRunsGiveDifferentKeys()
    {
        Assert.NotEqual(KeyGenerator.ChronyLine(), KeyGenerator.ChronyLine());
        Assert.NotEqual(KeyGenerator.NtpKeygenFileContent("host", s_now), KeyGenerator.NtpKeygenFileContent("host", s_now));
        Assert.NotEqual(KeyGenerator.ModernKeySet(KeyFileDialect.Chrony), KeyGenerator.ModernKeySet(KeyFileDialect.Chrony));
    }

    [Fact]
    public void FileNameIsNtpKeygensWithNtpSeconds()
    {
        Assert.Equal(3913153445L, s_ntpSeconds);
        Assert.Equal("ntpkey_MD5key_ntp1.example.3913153445", KeyGenerator.FileName("ntp1.example", s_now));
        Assert.Throws<ArgumentException>(() => KeyGenerator.FileName("../etc", s_now));
    }

    [Fact]
    public void NtpKeygenContentHasNtpKeygensLayout()
    {
        string content = KeyGenerator.NtpKeygenFileContent("host", s_now);
        string[] lines = content.Split('\n');
        Assert.Equal(23, lines.Length);
        Assert.Equal(string.Empty, lines[^1]);
        Assert.Equal("# ntpkey_MD5key_host.3913153445", lines[0]);
        Assert.Equal("# Tue Jan  2 03:04:05 2024", lines[1]);
        for (int i = 1; i <= 10; i++)
        {
            Match m = Regex.Match(lines[i + 1], "^(?<id>[ 0-9]{2}) MD5 (?<key>[\x21-\x7e]{20})  # MD5 key$");
            Assert.True(m.Success, lines[i + 1]);
            Assert.Equal(i.ToString().PadLeft(2), m.Groups["id"].Value);
            Assert.DoesNotContain('#', m.Groups["key"].Value);
        }

        for (int i = 11; i <= 20; i++)
        {
            Assert.Matches($"^{i} SHA1 [0-9a-f]{{40}}  # SHA1 key$", lines[i + 1]);
        }
    }

    [Fact]
    public void NtpKeygenContentParsesBackToTheSameKeys()
    {
        string content = KeyGenerator.NtpKeygenFileContent("host", s_now);
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(content, "ntp.keys", warnings);
        string[] lines = content.Split('\n');
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (uint)i), keys.Select(k => k.Id));
        for (int i = 0; i < 20; i++)
        {
            string key = lines[i + 2].Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
            if (i < 10)
            {
                KeyFileTests.AssertKey(keys[i], MacAlgorithm.Md5, System.Text.Encoding.ASCII.GetBytes(key));
            }
            else
            {
                KeyFileTests.AssertKey(keys[i], MacAlgorithm.Sha1, Convert.FromHexString(key));
            }
        }

        // MD5 deprecation per MD5 key, and one note that chrony would read the SHA1 keys differently.
        Assert.Equal(10, warnings.Count(w => w.Message.Contains("MD5 is deprecated", StringComparison.Ordinal)));
        KeyFileWarning hex = Assert.Single(warnings, w => w.Message.StartsWith("keys 11, 12, 13, 14, 15, 16, 17, 18, 19, 20: unprefixed keys", StringComparison.Ordinal));
        Assert.Equal(13, hex.Line);
        KeyFileTests.Dispose(keys);
    }

    [Theory]
    [InlineData(KeyFileDialect.Chrony, "^# .*\n(([1-9]|10) AES128 HEX:[0-9A-F]{32}\n){10}(1[1-9]|20) SHA1 HEX:[0-9A-F]{40}\n")]
    [InlineData(KeyFileDialect.NtpKeys, "^# .*\n(([1-9]|10) AES128CMAC [0-9a-f]{32}\n){10}(1[1-9]|20) SHA1 [0-9a-f]{40}\n")]
    public void ModernKeySetHasAesAndSha1KeysAndParsesBackWithoutWarnings(KeyFileDialect dialect, string pattern)
    {
        string content = KeyGenerator.ModernKeySet(dialect);
        Assert.Matches(pattern, content);
        Assert.Equal(21, content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(content, "keys", warnings);
        Assert.Empty(warnings);
        string[] lines = content.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        for (int i = 0; i < 20; i++)
        {
            string key = lines[i].Split(' ')[2];
            key = key.StartsWith("HEX:", StringComparison.Ordinal) ? key[4..] : key;
            Assert.Equal((uint)(i + 1), keys[i].Id);
            KeyFileTests.AssertKey(keys[i], i < 10 ? MacAlgorithm.Aes128Cmac : MacAlgorithm.Sha1, Convert.FromHexString(key));
        }

        KeyFileTests.Dispose(keys);
    }

    [Fact]
    public void WriteKeyFileCreatesAPrivateFileAndReplacesAnOldOne()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("chrony.keys", "old content\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        string content = KeyGenerator.ModernKeySet(KeyFileDialect.Chrony);
        KeyGenerator.WriteKeyFile(path, content);
        Assert.Equal(content, File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        string fresh = Path.Combine(dir.Path, "new.keys");
        KeyGenerator.WriteKeyFile(fresh, content);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fresh));

        // No temporary file is left behind.
        Assert.Equal(["chrony.keys", "new.keys"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
        var warnings = new List<KeyFileWarning>();
        KeyFileTests.Dispose(KeyFile.Load(fresh, warnings));
        Assert.Empty(warnings);
    }

    [Fact]
    public void WriteKeyFileIntoAMissingDirectoryFailsAndLeavesNothing()
    {
        using var dir = new TempDirectory();
        Assert.ThrowsAny<IOException>(() => KeyGenerator.WriteKeyFile(Path.Combine(dir.Path, "missing", "keys"), "1 SHA1 HEX:00\n"));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void NtpKeygenFilesAreAPrivateKeyFileAndAnNtpKeysSymlink()
    {
        using var dir = new TempDirectory();
        string path = KeyGenerator.WriteNtpKeygenFiles(dir.Path, "host", s_now);
        Assert.Equal(Path.Combine(dir.Path, "ntpkey_MD5key_host.3913153445"), path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        string link = Path.Combine(dir.Path, "ntp.keys");
        Assert.Equal("ntpkey_MD5key_host.3913153445", new FileInfo(link).LinkTarget);
        Assert.Equal(File.ReadAllText(path), File.ReadAllText(link));
        KeyFileTests.Dispose(KeyFile.Load(link, []));

        // A second run replaces the symlink.
        string second = KeyGenerator.WriteNtpKeygenFiles(dir.Path, "host", s_now.AddSeconds(10));
        Assert.Equal("ntpkey_MD5key_host.3913153455", new FileInfo(link).LinkTarget);
        Assert.Equal(File.ReadAllText(second), File.ReadAllText(link));
        Assert.Equal(3, Directory.GetFileSystemEntries(dir.Path).Length);
    }

    [Fact]
    public void NtpKeygenFilesNeverReplaceARegularNtpKeysFile()
    {
        using var dir = new TempDirectory();
        string existing = dir.Write("ntp.keys", "1 SHA1 HEX:00112233445566778899\n");
        var e = Assert.Throws<IOException>(() => KeyGenerator.WriteNtpKeygenFiles(dir.Path, "host", s_now));
        Assert.Contains("is not a symlink", e.Message);
        Assert.Equal("1 SHA1 HEX:00112233445566778899\n", File.ReadAllText(existing));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));
    }
}
