using System.Globalization;
using System.Security.Cryptography;
using System.Text;

using Tempus.Storage;

namespace Tempus.Auth;

/// <summary>
/// Generates symmetric keys and key files: a line as <c>chronyc keygen</c> prints it, the file
/// <c>ntp-keygen -M</c> writes, and a modern AES-128-CMAC/SHA-1 set in either format. Key material
/// comes from <see cref="RandomNumberGenerator"/>; files are created mode 0600.
/// </summary>
public static class KeyGenerator
{
    /// <summary>Shortest digest key <see cref="ChronyLine"/> accepts, in bits (chrony's minimum).</summary>
    public const int MinBits = 80;

    /// <summary>Longest digest key <see cref="ChronyLine"/> accepts, in bits.</summary>
    public const int MaxBits = 4096;

    // ntp-keygen -M: 10 MD5 keys of 20 printable characters, then 10 SHA1 keys of 20 bytes in hex.
    private const int NtpKeygenKeysPerType = 10;
    private const int NtpKeygenKeyLength = 20;

    // RFC 5905 §6: NTP era 0 starts 1900-01-01, 2 208 988 800 s before the Unix epoch.
    private const long NtpUnixEpochOffset = 2_208_988_800L;

    /// <summary>
    /// A key line as <c>chronyc keygen [id [type [bits]]]</c> prints it: <c>1 SHA1 HEX:9B3F...</c>.
    /// </summary>
    /// <param name="id">The key id.</param>
    /// <param name="algorithm">The algorithm; the line uses its chrony name.</param>
    /// <param name="bits">The key length for digests (80-4096, a multiple of 8); ignored for AES, whose length is fixed.</param>
    /// <exception cref="ArgumentOutOfRangeException">The id is 0 or the length is out of range.</exception>
    public static string ChronyLine(uint id = 1, MacAlgorithm algorithm = MacAlgorithm.Sha1, int bits = 160)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        int bytes = MacAlgorithms.RequiredKeyLength(algorithm);
        if (bytes == 0)
        {
            if (bits is < MinBits or > MaxBits || bits % 8 != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(bits), bits, $"a key is {MinBits}-{MaxBits} bits long, in whole bytes");
            }

            bytes = bits / 8;
        }

        return $"{id} {MacAlgorithms.ChronyName(algorithm)} HEX:{RandomHex(bytes, upperCase: true)}";
    }

    /// <summary>
    /// The name <c>ntp-keygen -M</c> gives its file: <c>ntpkey_MD5key_&lt;host&gt;.&lt;NTP seconds&gt;</c>.
    /// </summary>
    /// <param name="hostName">The host name in the file name.</param>
    /// <param name="nowUtc">The generation time; its NTP-era seconds form the suffix.</param>
    public static string FileName(string hostName, DateTime nowUtc)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hostName);
        if (hostName.Contains('/', StringComparison.Ordinal) || hostName.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"host name '{hostName}' cannot be part of a file name", nameof(hostName));
        }

        return $"ntpkey_MD5key_{hostName}.{NtpSeconds(nowUtc).ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// The content <c>ntp-keygen -M</c> writes: two header comments (file name, date), ten MD5 keys
    /// (ids 1-10) of 20 random printable ASCII characters other than '#', then ten SHA1 keys
    /// (ids 11-20) of 40 hex digits, each line as <c>%2d MD5 %s  # MD5 key</c>.
    /// </summary>
    /// <param name="hostName">The host name in the header.</param>
    /// <param name="nowUtc">The generation time, in the header.</param>
    public static string NtpKeygenFileContent(string hostName, DateTime nowUtc)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# {FileName(hostName, nowUtc)}\n");

        // ntp-keygen prints ctime(3); this is its format, in UTC.
        DateTime utc = nowUtc.ToUniversalTime();
        text.Append(CultureInfo.InvariantCulture, $"# {utc:ddd MMM} {utc.Day,2} {utc:HH:mm:ss yyyy}\n");

        Span<char> ascii = stackalloc char[NtpKeygenKeyLength];
        for (int id = 1; id <= NtpKeygenKeysPerType; id++)
        {
            RandomPrintable(ascii);
            text.Append(CultureInfo.InvariantCulture, $"{id,2} MD5 {ascii}  # MD5 key\n");
            CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ascii));
        }

        for (int id = NtpKeygenKeysPerType + 1; id <= 2 * NtpKeygenKeysPerType; id++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{id,2} SHA1 {RandomHex(NtpKeygenKeyLength, upperCase: false)}  # SHA1 key\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// A modern default key set: ids 1-10 AES-128-CMAC (RFC 8573), ids 11-20 SHA1 for peers
    /// without CMAC, in chrony format (<c>1 AES128 HEX:...</c>) or ntp.keys format
    /// (<c>1 AES128CMAC &lt;32 hex digits&gt;</c>, <c>11 SHA1 &lt;40 hex digits&gt;</c>).
    /// </summary>
    /// <param name="dialect">The file format.</param>
    public static string ModernKeySet(KeyFileDialect dialect)
    {
        var text = new StringBuilder();
        text.Append(dialect == KeyFileDialect.Chrony
            ? "# chrony key file (ID TYPE HEX:KEY) generated by tempusctl keygen; keep it mode 0600.\n"
            : "# ntp.keys (keyno type key) generated by tempusctl keygen; keep it mode 0600.\n");
        for (int id = 1; id <= 20; id++)
        {
            MacAlgorithm algorithm = id <= 10 ? MacAlgorithm.Aes128Cmac : MacAlgorithm.Sha1;
            int bytes = id <= 10 ? 16 : 20;
            string hex = RandomHex(bytes, upperCase: dialect == KeyFileDialect.Chrony);
            if (dialect == KeyFileDialect.Chrony)
            {
                text.Append(CultureInfo.InvariantCulture, $"{id} {MacAlgorithms.ChronyName(algorithm)} HEX:{hex}\n");
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"{id} {MacAlgorithms.NtpKeysName(algorithm)} {hex}\n");
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Writes a key file atomically and never readable by anyone but its owner: a temporary file in
    /// the same directory is created with mode 0600, written, flushed to disk (fsync), then renamed
    /// over <paramref name="path"/>, so readers see the old file or the new one, never a partial one.
    /// </summary>
    /// <param name="path">The key file to create or replace.</param>
    /// <param name="content">The file content.</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void WriteKeyFile(string path, string content)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(content);
        byte[] bytes = Encoding.UTF8.GetBytes(content);
        try
        {
            AtomicFile.Write(path, bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>
    /// Does what <c>ntp-keygen -M</c> does in <paramref name="directory"/>: writes
    /// <c>ntpkey_MD5key_&lt;host&gt;.&lt;NTP seconds&gt;</c> (mode 0600) and points the symlink
    /// <c>ntp.keys</c> at it, replacing an existing symlink (but never a regular file).
    /// </summary>
    /// <param name="directory">The directory for both files.</param>
    /// <param name="host">The host name in the file name and header.</param>
    /// <param name="nowUtc">The generation time.</param>
    /// <returns>The path of the key file.</returns>
    /// <exception cref="IOException">A file cannot be written, or <c>ntp.keys</c> exists and is not a symlink.</exception>
    public static string WriteNtpKeygenFiles(string directory, string host, DateTime nowUtc)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string name = FileName(host, nowUtc);
        string path = Path.Combine(directory, name);
        string link = Path.Combine(directory, "ntp.keys");
        var existing = new FileInfo(link);
        if (existing.Exists && existing.LinkTarget is null)
        {
            throw new IOException($"{link} exists and is not a symlink: move it away first, it may hold keys in use");
        }

        WriteKeyFile(path, NtpKeygenFileContent(host, nowUtc));

        // Create the new link beside the old one and rename it over, so ntp.keys always exists.
        string tempLink = Path.Combine(directory, $".ntp.keys.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        File.CreateSymbolicLink(tempLink, name);
        try
        {
            File.Move(tempLink, link, overwrite: true);
        }
        catch
        {
            File.Delete(tempLink);
            throw;
        }

        return path;
    }

    private static long NtpSeconds(DateTime nowUtc) =>
        new DateTimeOffset(nowUtc.ToUniversalTime()).ToUnixTimeSeconds() + NtpUnixEpochOffset;

    private static string RandomHex(int bytes, bool upperCase)
    {
        Span<byte> key = stackalloc byte[bytes];
        RandomNumberGenerator.Fill(key);
        string hex = upperCase ? Convert.ToHexString(key) : Convert.ToHexStringLower(key);
        CryptographicOperations.ZeroMemory(key);
        return hex;
    }

    private static void RandomPrintable(Span<char> destination)
    {
        // ntp-keygen: characters 0x21-0x7e except '#', which ntpd would read as a comment.
        const string Alphabet = "!\"$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
        RandomNumberGenerator.GetItems(Alphabet, destination);
    }
}
