using System.Security.Cryptography;
using System.Text;
using Tempus.Auth;

namespace Tempus.Tests.Auth;

public sealed class KeyFileTests
{
    private const string File1 = "/etc/tempus/keys";

    private static readonly byte[] s_probe = Encoding.ASCII.GetBytes("probe message for key comparison");

    [Fact]
    public void ChronyFileWithEveryKeyFormReadsAsChronyDoes()
    {
        const string text = """
            # chrony keys
            1 MD5 HEX:0102030405060708090A0B0C0D0E0F10

            2 SHA1 ASCII:correct-horse
            3 AES128 HEX:000102030405060708090a0b0c0d0e0f   # trailing comment
            4 plainpassword12
               5   SHA256   ASCII:!not;a%comment
            6 AES256 HEX:000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f
            4294967295 SHA512 HEX:00112233445566778899
            ! chrony comment
            ; chrony comment
            % chrony comment
            """;
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(text, File1, warnings);
        try
        {
            Assert.Equal(new uint[] { 1, 2, 3, 4, 5, 6, 4294967295 }, keys.Select(k => k.Id));
            AssertKey(keys[0], MacAlgorithm.Md5, Convert.FromHexString("0102030405060708090A0B0C0D0E0F10"));
            AssertKey(keys[1], MacAlgorithm.Sha1, "correct-horse"u8.ToArray());
            AssertKey(keys[2], MacAlgorithm.Aes128Cmac, Convert.FromHexString("000102030405060708090a0b0c0d0e0f"));
            AssertKey(keys[3], MacAlgorithm.Md5, "plainpassword12"u8.ToArray());
            AssertKey(keys[4], MacAlgorithm.Sha256, "!not;a%comment"u8.ToArray());
            AssertKey(keys[5], MacAlgorithm.Aes256Cmac, Convert.FromHexString("000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"));
            AssertKey(keys[6], MacAlgorithm.Sha512, Convert.FromHexString("00112233445566778899"));
            Assert.Equal($"{File1}:2", keys[0].Origin);
            Assert.Equal($"{File1}:9", keys[6].Origin);
        }
        finally
        {
            Dispose(keys);
        }
    }

    [Fact]
    public void HashInsideAChronyKeyIsRefusedBecauseNtpdWouldCutTheKeyThere()
    {
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Parse("5 SHA256 ASCII:#notacomment\n", File1, []));
        Assert.Equal($"{File1}:1: '#' at column 16 inside a field: ntpd reads it as the start of a comment, chrony as part of the key; write the key as HEX: or put white space before the comment", e.Message);
    }

    [Fact]
    public void NtpKeygenFileReadsAsNtpdDoes()
    {
        const string text = """
            # ntpkey_MD5key_host.3912345678
            # Sun Dec 22 10:01:18 2023
             1 MD5 X~A=%NWlo]p$dGq,S3M9  # MD5 key
             2 M   abcdefghij           # MD5 key
            11 SHA1 17d96a86eb9b9075f33e1c0a08bb2bb61e916e33  # SHA1 key
            12 AES128CMAC 000102030405060708090a0b0c0d0e0f
            13 AES 000102030405060708090A0B0C0D0E0F
            14 AES-256 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f
            """;
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(text, "ntp.keys", warnings);
        try
        {
            AssertKey(keys[0], MacAlgorithm.Md5, "X~A=%NWlo]p$dGq,S3M9"u8.ToArray());
            AssertKey(keys[1], MacAlgorithm.Md5, "abcdefghij"u8.ToArray());
            AssertKey(keys[2], MacAlgorithm.Sha1, Convert.FromHexString("17d96a86eb9b9075f33e1c0a08bb2bb61e916e33"));
            AssertKey(keys[3], MacAlgorithm.Aes128Cmac, Convert.FromHexString("000102030405060708090a0b0c0d0e0f"));
            AssertKey(keys[4], MacAlgorithm.Aes128Cmac, Convert.FromHexString("000102030405060708090a0b0c0d0e0f"));
            AssertKey(keys[5], MacAlgorithm.Aes256Cmac, Convert.FromHexString("000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"));

            // Line 5 is unprefixed 40 hex digits, but lines 4 and 6-8 are ntp.keys-only, a file
            // chrony cannot read: hex, and nothing to warn about but MD5.
            Assert.All(warnings, w => Assert.Contains("MD5 is deprecated", w.Message, StringComparison.Ordinal));
        }
        finally
        {
            Dispose(keys);
        }
    }

    [Fact]
    public void UnprefixedLongHexKeyAloneIsReadAsHexWithAWarning()
    {
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse("1 SHA1 17d96a86eb9b9075f33e1c0a08bb2bb61e916e33\n", File1, warnings);
        AssertKey(Assert.Single(keys), MacAlgorithm.Sha1, Convert.FromHexString("17d96a86eb9b9075f33e1c0a08bb2bb61e916e33"));
        KeyFileWarning warning = Assert.Single(warnings);
        Assert.Equal(new KeyFileWarning(File1, 1, "key 1: an unprefixed key of more than 20 characters, all hex digits, is read as hex, as ntpd does (ntp-keygen writes such keys); chrony would read it as ASCII text: write HEX: before it to make the file mean the same to both"), warning);
        Dispose(keys);
    }

    [Fact]
    public void UnprefixedLongHexKeyInAChronyFileIsReadAsAsciiWithAWarning()
    {
        var warnings = new List<KeyFileWarning>();
        const string text = "1 SHA1 HEX:00112233445566778899\n2 SHA1 17d96a86eb9b9075f33e1c0a08bb2bb61e916e33\n";
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(text, File1, warnings);
        AssertKey(keys[1], MacAlgorithm.Sha1, "17d96a86eb9b9075f33e1c0a08bb2bb61e916e33"u8.ToArray());
        KeyFileWarning warning = Assert.Single(warnings);
        Assert.Equal(2, warning.Line);
        Assert.Equal("key 2: 40 hex digits without a prefix are read as ASCII text, as chrony does, because line 1 uses chrony syntax; ntpd would read them as hex: write '2 SHA1 ASCII:17d96a86eb9b9075f33e1c0a08bb2bb61e916e33' or '2 SHA1 HEX:17d96a86eb9b9075f33e1c0a08bb2bb61e916e33' to make it explicit", warning.Message);
        Dispose(keys);
    }

    [Fact]
    public void UnprefixedLongHexKeyInAMixedFileIsReadAsHex()
    {
        var warnings = new List<KeyFileWarning>();
        const string text = "1 SHA1 HEX:00112233445566778899\n2 AES128CMAC 000102030405060708090a0b0c0d0e0f\n3 SHA1 17d96a86eb9b9075f33e1c0a08bb2bb61e916e33\n";
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(text, File1, warnings);
        AssertKey(keys[2], MacAlgorithm.Sha1, Convert.FromHexString("17d96a86eb9b9075f33e1c0a08bb2bb61e916e33"));
        Assert.Contains(warnings, w => w.Line == 3 && w.Message.StartsWith("key 3: an unprefixed key of more than 20 characters, all hex digits, is read as hex", StringComparison.Ordinal));
        Dispose(keys);
    }

    [Theory]
    [InlineData("1 SHA1 0123456789abcdef0123", "0123456789abcdef0123")] // 20 characters: ASCII in both formats.
    [InlineData("1 SHA1 this-is-a-long-ascii-password", "this-is-a-long-ascii-password")] // not hex: only chrony's reading works.
    [InlineData("1 SHA1 0123456789abcdef01234", "0123456789abcdef01234")] // odd hex: only chrony's reading works.
    [InlineData("70000 SHA1 17d96a86eb9b9075f33e1c0a08bb2bb61e916e33", "17d96a86eb9b9075f33e1c0a08bb2bb61e916e33")] // id above ntp.keys' range: chrony.
    public void LinesBothFormatsReadAlikeOrOnlyChronyCanReadAreAscii(string line, string expectedAscii)
    {
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(line, File1, warnings);
        AssertKey(Assert.Single(keys), MacAlgorithm.Sha1, Encoding.ASCII.GetBytes(expectedAscii));
        Assert.Empty(warnings);
        Dispose(keys);
    }

    [Theory]
    [InlineData("11 AES128 HEX:000102030405060708090a0b0c0d0e", "key 11: AES128 needs a 128-bit key, got 120 bits")]
    [InlineData("11 AES256 HEX:000102030405060708090a0b0c0d0e0f", "key 11: AES256 needs a 256-bit key, got 128 bits")]
    [InlineData("11 AES128 ASCII:short", "key 11: AES128 needs a 128-bit key, got 40 bits")]
    [InlineData("4 SHA1 HEX:0011223344556677889g", "key 4: bad hex digit 'g' at column 31")]
    [InlineData("4 SHA1 HEX:001", "key 4: odd number of hex digits (3): a hex key is whole bytes")]
    [InlineData("4 SHA1 HEX:", "key 4: empty key after HEX:")]
    [InlineData("4 SHA1 ASCII:", "key 4: empty key after ASCII:")]
    [InlineData("4 FOO secret", "key 4: unknown digest type 'FOO' (expected MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256)")]
    [InlineData("4 RMD160 secret", "key 4: digest type 'RMD160' is unsupported (expected MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256)")]
    [InlineData("10 SHA secret", "key 10: digest type SHA is SHA-0, which is insecure and unsupported: use SHA1, or better AES128CMAC")]
    [InlineData("0 SHA1 secret", "key id 0 is reserved: NTP uses it for packets without a key")]
    [InlineData("x1 SHA1 secret", "key id 'x1' is not a number: expected a number from 1 to 4294967295")]
    [InlineData("-1 SHA1 secret", "key id '-1' is not a number: expected a number from 1 to 4294967295")]
    [InlineData("4294967296 SHA1 secret", "key id '4294967296' is out of range: expected a number from 1 to 4294967295")]
    [InlineData("70000 AES128CMAC 000102030405060708090a0b0c0d0e0f", "key id 70000 is out of range for ntp.keys (1-65535)")]
    [InlineData("7", "key 7: no key after the key id")]
    [InlineData("7 SHA1 secret 127.0.0.1", "key 7: unexpected field '127.0.0.1' after the key at column 15 (ntpd's per-key address lists are not supported)")]
    [InlineData("7 AES128CMAC 000102030405060708090a0b0c0d0e0fzz", "key 7: bad hex digit 'z' at column 46")]
    [InlineData("7 AES128CMAC 000102030405060708090a0b0c0d0e0f0", "key 7: odd number of hex digits (33): a hex key is whole bytes")]
    [InlineData("7 SHA1 pass\u00e9word", "non-ASCII character '\u00e9' at column 12: key files are ASCII; write binary keys as HEX:")]
    [InlineData("7 SHA1 pass\u0001word", "control character 0x01 at column 12: key files are ASCII; write binary keys as HEX:")]
    [InlineData("7 SHA1 ab#cd", "'#' at column 10 inside a field: ntpd reads it as the start of a comment, chrony as part of the key; write the key as HEX: or put white space before the comment")]
    public void InvalidLineIsRefusedWithFileLineAndCause(string line, string cause)
    {
        string text = $"# header\n1 SHA1 HEX:00112233445566778899\n{line}\n";
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Parse(text, File1, []));
        Assert.Equal(cause, e.Cause);
        Assert.Equal(3, e.Line);
        Assert.Equal(File1, e.FileName);
        Assert.Equal($"{File1}:3: {cause}", e.Message);
    }

    [Fact]
    public void DuplicateKeyIdNamesTheFirstDefinition()
    {
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Parse("\n5 SHA1 HEX:00112233445566778899\n6 MD5 abcdefghijkl\n5 AES128CMAC 000102030405060708090a0b0c0d0e0f\n", File1, []));
        Assert.Equal($"{File1}:4: duplicate key id 5 (first defined on line 2)", e.Message);
    }

    [Theory]
    [InlineData("1 AES128CMAC X~A=%NWlo]p$dGq,S3M9", "587e413d254e576c6f5d70246447712c", "key 1: AES128CMAC key of 160 bits truncated to 128 bits, as ntpd does: give it exactly 16 bytes (32 hex digits)")]
    [InlineData("1 AES128CMAC abc", "61626300000000000000000000000000", "key 1: AES128CMAC key of 24 bits zero-padded to 128 bits, as ntpd does: give it exactly 16 bytes (32 hex digits)")]
    [InlineData("1 AES-256 000102030405060708090a0b0c0d0e0f", "000102030405060708090a0b0c0d0e0f00000000000000000000000000000000", "key 1: AES-256 key of 128 bits zero-padded to 256 bits, as ntpd does: give it exactly 32 bytes (64 hex digits)")]
    public void NtpKeysCmacKeyOfTheWrongLengthIsFittedAsNtpdDoesWithAWarning(string line, string expectedKeyHex, string warning)
    {
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse(line, "ntp.keys", warnings);
        SymmetricKey key = Assert.Single(keys);
        AssertKey(key, key.Algorithm, Convert.FromHexString(expectedKeyHex));
        Assert.Equal(new KeyFileWarning("ntp.keys", 1, warning), Assert.Single(warnings));
        Dispose(keys);
    }

    [Fact]
    public void NtpKeysHexKeyOver256BitsIsTruncatedAsNtpsecDoes()
    {
        string hex = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(40));
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse($"1 M {hex}", "ntp.keys", warnings);
        AssertKey(Assert.Single(keys), MacAlgorithm.Md5, Convert.FromHexString(hex[..64]));
        Assert.Contains(warnings, w => w.Message == "key 1: key of 320 bits truncated to 256 bits, as NTPsec does");
        Dispose(keys);
    }

    [Fact]
    public void Md5AndShortKeysDrawWarnings()
    {
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse("1 MD5 HEX:00112233445566778899\n2 SHA1 short\n3 AES128 HEX:000102030405060708090a0b0c0d0e0f\n", File1, warnings);
        Assert.Equal(
            [
                new KeyFileWarning(File1, 1, "key 1: MD5 is deprecated (RFC 8573): use AES128"),
                new KeyFileWarning(File1, 2, "key 2: the key is only 40 bits long; use at least 80 bits ('tempusctl keygen' makes 160)"),
            ],
            warnings);
        Assert.Equal($"{File1}:1: key 1: MD5 is deprecated (RFC 8573): use AES128", warnings[0].ToString());
        Dispose(keys);
    }

    [Fact]
    public void LineLongerThanTheLimitIsRefused()
    {
        string text = $"1 SHA1 HEX:00112233445566778899\n2 SHA1 ASCII:{new string('a', 5000)}\n";
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Parse(text, File1, []));
        Assert.Equal($"{File1}:2: line is 5013 characters long; lines are limited to 4096", e.Message);

        // Just under the limit is accepted.
        var keys = KeyFile.Parse($"2 SHA1 ASCII:{new string('a', KeyFile.MaxLineLength - 13)}", File1, []);
        Assert.Equal((KeyFile.MaxLineLength - 13) * 8, Assert.Single(keys).KeyLengthBits);
        Dispose(keys);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n   \n")]
    [InlineData("# only a comment\n  # another\n")]
    public void FileWithoutKeysLoadsEmptyWithAWarning(string text)
    {
        var warnings = new List<KeyFileWarning>();
        Assert.Empty(KeyFile.Parse(text, File1, warnings));
        Assert.Equal(new KeyFileWarning(File1, 0, "the key file defines no keys"), Assert.Single(warnings));
    }

    [Fact]
    public void CrLfLineEndsAndNonAsciiCommentsAreAccepted()
    {
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse("# clé de Zoë\r\n1 SHA1 HEX:00112233445566778899  # für NTP\r\n", File1, []);
        AssertKey(Assert.Single(keys), MacAlgorithm.Sha1, Convert.FromHexString("00112233445566778899"));
        Dispose(keys);
    }

    [Fact]
    public void LoadReadsAPrivateFileWithoutWarnings()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("chrony.keys", "1 AES128 HEX:000102030405060708090a0b0c0d0e0f\n");
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Load(path, warnings);
        Assert.Empty(warnings);
        Assert.Equal($"{path}:1", Assert.Single(keys).Origin);
        Dispose(keys);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0644")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.GroupRead, "0440")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite, "0606")]
    public void FileReadableByGroupOrOthersDrawsAWarning(UnixFileMode mode, string octal)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("chrony.keys", "1 AES128 HEX:000102030405060708090a0b0c0d0e0f\n", mode);
        var warnings = new List<KeyFileWarning>();
        Dispose(KeyFile.Load(path, warnings));
        Assert.Equal(new KeyFileWarning(path, 0, $"key file {path} is readable by group/others (mode {octal}): chmod 600 {path}"), Assert.Single(warnings));
    }

    [Fact]
    public void MissingFileIsReportedWithItsErrno()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "missing", "keys");
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Load(path, []));
        Assert.Equal($"cannot read key file {path}: No such file or directory", e.Message);
        Assert.Equal(0, e.Line);
        Assert.Equal(path, e.FileName);
        e = Assert.Throws<KeyFileException>(() => KeyFile.Load(Path.Combine(dir.Path, "keys"), []));
        Assert.EndsWith(": No such file or directory", e.Message);
    }

    [Fact]
    public void DirectoryIsReportedAsSuch()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Load(dir.Path, []));
        Assert.Equal($"cannot read key file {dir.Path}: Is a directory", e.Message);
    }

    [Fact]
    public void UnreadableFileNamesTheUserTheDaemonRunsAs()
    {
        using var dir = new TempDirectory();

        // root reads any file mode 000; /proc/sys files are checked against their mode even for root.
        string path = IsRoot()
            ? "/proc/sys/vm/drop_caches"
            : dir.Write("keys", "1 SHA1 secretsecret\n", UnixFileMode.None);
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Load(path, []));
        Assert.Matches($"^cannot read key file {path}: Permission denied \\(running as user '[^']+', uid [0-9]+\\)$", e.Message);
        Assert.Contains($"'{Environment.UserName}'", e.Message);
    }

    [Fact]
    public void NonUtf8BytesAreReportedWithLineAndColumn()
    {
        using var dir = new TempDirectory();
        byte[] content = [.. "1 SHA1 HEX:00112233445566778899\n2 SHA1 abc"u8, 0xff, .. "def\n"u8];
        string path = dir.WriteBytes("keys", content);
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Load(path, []));
        Assert.Equal($"{path}:2: invalid UTF-8 byte 0xff at column 11: write binary keys as HEX:", e.Message);
    }

    [Fact]
    public void Utf8ByteOrderMarkIsIgnored()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("keys", [0xef, 0xbb, 0xbf, .. "1 SHA1 HEX:00112233445566778899\n"u8]);
        Dispose(KeyFile.Load(path, []));
    }

    [Fact]
    public void OversizedFileIsRefused()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("keys", new byte[KeyFile.MaxFileSize + 1]);
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Load(path, []));
        Assert.Equal($"key file {path} is {KeyFile.MaxFileSize + 1} bytes long; key files are limited to {KeyFile.MaxFileSize} bytes", e.Message);
    }

    [Fact]
    public void GarbageIsRefusedOnItsFirstLine()
    {
        byte[] noise = new byte[4000];
        new Random(42).NextBytes(noise);
        string text = "1 SHA1 HEX:00112233445566778899\n" + Encoding.Latin1.GetString(noise);
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Parse(text, File1, []));
        Assert.True(e.Line >= 2, e.Message);
        Assert.StartsWith($"{File1}:{e.Line}: ", e.Message);
    }

    internal static void AssertKey(SymmetricKey key, MacAlgorithm algorithm, byte[] secret)
    {
        Assert.Equal(algorithm, key.Algorithm);
        Assert.Equal(secret.Length * 8, key.KeyLengthBits);
        using var expected = new SymmetricKey(key.Id, algorithm, secret, "expected");
        byte[] a = new byte[20];
        byte[] b = new byte[20];
        expected.ComputeDigest(s_probe, a);
        key.ComputeDigest(s_probe, b);
        Assert.Equal(Convert.ToHexString(a), Convert.ToHexString(b));
    }

    internal static void Dispose(IEnumerable<SymmetricKey> keys)
    {
        foreach (SymmetricKey key in keys)
        {
            key.Dispose();
        }
    }

    private static bool IsRoot() => File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:") && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2] == "0");
}
