using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Tempus.Auth;

/// <summary>
/// Reads symmetric key files in chrony's and ntpd/NTPsec's formats, detected per line.
/// </summary>
/// <remarks>
/// <para>chrony: <c>ID [TYPE] [ASCII:|HEX:]KEY</c>; the type defaults to MD5 and a key without a
/// prefix is ASCII text. ntpd/NTPsec (ntp.keys): <c>keyno type key</c>; a key of 20 characters or
/// fewer is ASCII text, a longer one is hex, ids are 1-65535, AES keys of the wrong length are
/// truncated or zero-padded.</para>
/// <para>A line is read with chrony's rules when it has two fields, a prefixed key, an id above
/// 65535 or a type only chrony knows (AES128, AES256); with ntp.keys rules when its type is one
/// only ntpd knows (M, AES, AES128CMAC, AES-128, AES-256, AES256CMAC). The two formats only
/// disagree about an unprefixed key of more than 20 hex digits with a digest type (MD5, SHA1,
/// SHA256...): chrony reads it as text, ntpd as hex. Such a line follows the rest of the file when
/// the other lines are all chrony-only or all ntp.keys-only; otherwise it is read as hex, because
/// an unprefixed hex key is what ntp-keygen writes and chronyc keygen never does. A warning says so
/// (one per file), except in a file that is ntp.keys elsewhere, which chrony cannot read anyway;
/// a key read as text because the file is chrony's gets a warning of its own.</para>
/// <para>'#' starts a comment at the start of a line or after white space; a '#' inside a key is an
/// error, because ntpd ends the key there and chrony does not.</para>
/// </remarks>
public static class KeyFile
{
    /// <summary>Longest line accepted, in characters.</summary>
    public const int MaxLineLength = 4096;

    /// <summary>Largest key file accepted, in bytes.</summary>
    public const int MaxFileSize = 1 << 20;

    /// <summary>Highest key id ntp.keys allows (NTPsec's NTP_MAXKEY).</summary>
    public const uint MaxNtpKeysId = 65535;

    /// <summary>Keys shorter than this many bits draw a warning.</summary>
    public const int MinRecommendedKeyBits = 80;

    // ntp.keys: a key of at most this many characters is ASCII, a longer one hex.
    private const int NtpKeysMaxAsciiLength = 20;

    // NTPsec keeps at most 32 bytes (64 hex digits) of a hex key.
    private const int NtpKeysMaxHexBytes = 32;

    private const string ChronyAsciiPrefix = "ASCII:";
    private const string ChronyHexPrefix = "HEX:";
    private const string ExpectedTypes = "expected MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256";

    /// <summary>Reads and parses a key file, checking its permissions.</summary>
    /// <param name="path">The key file.</param>
    /// <param name="warnings">Receives problems that do not stop loading: a file readable by group or others, MD5 or short keys, ambiguous lines.</param>
    /// <returns>The keys in file order; the caller owns them.</returns>
    /// <exception cref="KeyFileException">The file cannot be read, is not UTF-8, or has an invalid line.</exception>
    public static IReadOnlyList<SymmetricKey> Load(string path, IList<KeyFileWarning> warnings)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(warnings);
        byte[] bytes = ReadFile(path, warnings);
        string text = DecodeUtf8(bytes, path);
        return Parse(text, path, warnings);
    }

    /// <summary>Parses key file text.</summary>
    /// <param name="text">The file content.</param>
    /// <param name="fileName">The file name used in messages and in each key's <see cref="SymmetricKey.Origin"/>.</param>
    /// <param name="warnings">Receives problems that do not stop loading: MD5 or short keys, ambiguous lines.</param>
    /// <returns>The keys in file order; the caller owns them.</returns>
    /// <exception cref="KeyFileException">A line is invalid; the message names the file and line.</exception>
    public static IReadOnlyList<SymmetricKey> Parse(string text, string fileName, IList<KeyFileWarning> warnings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(warnings);

        List<KeyLine> lines = Tokenize(text, fileName);
        KeyFileDialect? fileDialect = FileDialect(lines, out int evidenceLine);

        var keys = new List<SymmetricKey>(lines.Count);
        var firstLine = new Dictionary<uint, int>();
        var ambiguousHex = new List<(uint Id, int Line)>();
        try
        {
            foreach (KeyLine line in lines)
            {
                SymmetricKey key = ParseLine(line, fileName, fileDialect, evidenceLine, warnings, ambiguousHex);
                if (!firstLine.TryAdd(key.Id, line.Number))
                {
                    key.Dispose();
                    throw new KeyFileException(fileName, line.Number, $"duplicate key id {key.Id} (first defined on line {firstLine[key.Id]})");
                }

                keys.Add(key);
            }
        }
        catch
        {
            foreach (SymmetricKey key in keys)
            {
                key.Dispose();
            }

            throw;
        }

        if (ambiguousHex.Count > 0)
        {
            // One warning for the file: an ntp-keygen file has ten such keys.
            string ids = string.Join(", ", ambiguousHex.Select(k => k.Id.ToString(CultureInfo.InvariantCulture)));
            string message = ambiguousHex.Count == 1
                ? $"key {ids}: an unprefixed key of more than 20 characters, all hex digits, is read as hex, as ntpd does (ntp-keygen writes such keys); chrony would read it as ASCII text: write HEX: before it to make the file mean the same to both"
                : $"keys {ids}: unprefixed keys of more than 20 characters, all hex digits, are read as hex, as ntpd does (ntp-keygen writes such keys); chrony would read them as ASCII text: write HEX: before them to make the file mean the same to both";
            warnings.Add(new KeyFileWarning(fileName, ambiguousHex[0].Line, message));
        }

        if (keys.Count == 0)
        {
            warnings.Add(new KeyFileWarning(fileName, 0, "the key file defines no keys"));
        }

        return keys;
    }

    private static byte[] ReadFile(string path, IList<KeyFileWarning> warnings)
    {
        try
        {
            if (Directory.Exists(path))
            {
                throw new KeyFileException(path, 0, $"cannot read key file {path}: Is a directory");
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            if (stream.Length > MaxFileSize)
            {
                throw new KeyFileException(path, 0, $"key file {path} is {stream.Length} bytes long; key files are limited to {MaxFileSize} bytes");
            }

            // Checked on the open handle, so the mode is that of the file actually read.
            UnixFileMode mode = File.GetUnixFileMode(stream.SafeFileHandle);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
            {
                string octal = Convert.ToString((int)mode & 0xfff, 8).PadLeft(4, '0');
                warnings.Add(new KeyFileWarning(path, 0, $"key file {path} is readable by group/others (mode {octal}): chmod 600 {path}"));
            }

            byte[] bytes = new byte[(int)stream.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new KeyFileException(path, 0, $"cannot read key file {path}: Permission denied (running as user '{Environment.UserName}', uid {Interop.Libc.GetEffectiveUserId()})", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KeyFileException(path, 0, $"cannot read key file {path}: No such file or directory", e);
        }
        catch (IOException e)
        {
            throw new KeyFileException(path, 0, $"cannot read key file {path}: {e.Message}", e);
        }
    }

    private static string DecodeUtf8(byte[] bytes, string fileName)
    {
        ReadOnlySpan<byte> span = bytes;
        if (span.StartsWith((ReadOnlySpan<byte>)[0xef, 0xbb, 0xbf]))
        {
            span = span[3..];
        }

        if (Utf8.IsValid(span))
        {
            return Encoding.UTF8.GetString(span);
        }

        // Find the offending byte to say where it is.
        int line = 1;
        int column = 1;
        int offset = 0;
        while (offset < span.Length)
        {
            if (Rune.DecodeFromUtf8(span[offset..], out Rune rune, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                break;
            }

            offset += consumed;
            if (rune.Value == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        throw new KeyFileException(fileName, line, $"invalid UTF-8 byte 0x{span[offset]:x2} at column {column}: write binary keys as HEX:");
    }

    private static List<KeyLine> Tokenize(string text, string fileName)
    {
        var lines = new List<KeyLine>();
        int number = 0;
        int start = 0;
        while (start < text.Length)
        {
            int end = text.IndexOf('\n', start);
            if (end < 0)
            {
                end = text.Length;
            }

            number++;
            ReadOnlySpan<char> raw = text.AsSpan(start, end - start);
            start = end + 1;
            if (raw.EndsWith('\r'))
            {
                raw = raw[..^1];
            }

            if (raw.Length > MaxLineLength)
            {
                throw new KeyFileException(fileName, number, $"line is {raw.Length} characters long; lines are limited to {MaxLineLength}");
            }

            if (TokenizeLine(raw, fileName, number) is { } line)
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    private static KeyLine? TokenizeLine(ReadOnlySpan<char> raw, string fileName, int number)
    {
        ReadOnlySpan<char> trimmed = raw.TrimStart(" \t");

        // chrony also treats lines starting with '!', ';' or '%' as comments.
        if (trimmed.IsEmpty || trimmed[0] is '#' or '!' or ';' or '%')
        {
            return null;
        }

        var fields = new List<Field>(3);
        int i = 0;
        while (i < raw.Length)
        {
            char c = raw[i];
            if (c is ' ' or '\t')
            {
                i++;
                continue;
            }

            if (c == '#')
            {
                break;
            }

            int begin = i;
            while (i < raw.Length && raw[i] is not (' ' or '\t'))
            {
                char t = raw[i];
                if (t == '#')
                {
                    throw new KeyFileException(fileName, number, $"'#' at column {i + 1} inside a field: ntpd reads it as the start of a comment, chrony as part of the key; write the key as HEX: or put white space before the comment");
                }

                if (t < 0x21 || t > 0x7e)
                {
                    string what = char.IsControl(t) ? $"control character 0x{(int)t:x2}" : $"non-ASCII character '{t}'";
                    throw new KeyFileException(fileName, number, $"{what} at column {i + 1}: key files are ASCII; write binary keys as HEX:");
                }

                i++;
            }

            fields.Add(new Field(raw[begin..i].ToString(), begin + 1));
        }

        return fields.Count == 0 ? null : new KeyLine(number, fields);
    }

    private static KeyFileDialect? LineDialect(KeyLine line)
    {
        List<Field> f = line.Fields;
        if (f.Count == 2 || (f.Count >= 3 && HasChronyPrefix(f[2].Text)))
        {
            return KeyFileDialect.Chrony;
        }

        if (f.Count < 3)
        {
            return null;
        }

        string type = f[1].Text.ToUpperInvariant();
        if (type is "M" or "AES" or "AES128CMAC" or "AES-128" or "AES-256" or "AES256CMAC" or "SHA")
        {
            return KeyFileDialect.NtpKeys;
        }

        if (type is "AES128" or "AES256"
            || (uint.TryParse(f[0].Text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id > MaxNtpKeysId))
        {
            return KeyFileDialect.Chrony;
        }

        return null;
    }

    private static KeyFileDialect? FileDialect(List<KeyLine> lines, out int evidenceLine)
    {
        int chrony = 0;
        int ntp = 0;
        foreach (KeyLine line in lines)
        {
            switch (LineDialect(line))
            {
                case KeyFileDialect.Chrony when chrony == 0:
                    chrony = line.Number;
                    break;
                case KeyFileDialect.NtpKeys when ntp == 0:
                    ntp = line.Number;
                    break;
            }
        }

        if (chrony != 0 && ntp == 0)
        {
            evidenceLine = chrony;
            return KeyFileDialect.Chrony;
        }

        if (ntp != 0 && chrony == 0)
        {
            evidenceLine = ntp;
            return KeyFileDialect.NtpKeys;
        }

        evidenceLine = 0;
        return null;
    }

    private static SymmetricKey ParseLine(KeyLine line, string fileName, KeyFileDialect? fileDialect, int evidenceLine, IList<KeyFileWarning> warnings, List<(uint Id, int Line)> ambiguousHex)
    {
        List<Field> f = line.Fields;
        KeyFileDialect? dialect = LineDialect(line);
        uint id = ParseId(f[0].Text, line.Number, fileName, dialect);
        if (f.Count == 1)
        {
            throw Error(fileName, line.Number, id, "no key after the key id");
        }

        if (f.Count > 3)
        {
            throw Error(fileName, line.Number, id, $"unexpected field '{f[3].Text}' after the key at column {f[3].Column} (ntpd's per-key address lists are not supported)");
        }

        Field typeField = f.Count == 3 ? f[1] : new Field("MD5", 0);
        Field keyField = f[^1];
        MacAlgorithm algorithm = ParseType(typeField.Text, fileName, line.Number, id);

        // Only AES keys depend on the rules beyond decoding, and AES type names are dialect-specific.
        bool ntpKeysRules = dialect is KeyFileDialect.NtpKeys;
        string keyText = keyField.Text;
        byte[] secret;
        if (dialect is KeyFileDialect.Chrony)
        {
            secret = DecodeChronyKey(keyField, fileName, line.Number, id);
        }
        else if (ntpKeysRules || keyText.Length <= NtpKeysMaxAsciiLength)
        {
            // Up to 20 characters, both formats read the key as ASCII.
            secret = DecodeNtpKeysKey(keyField, fileName, line.Number, id, warnings);
        }
        else if (!IsEvenHex(keyText))
        {
            // Only chrony can read a long key that is not hex (ntpd refuses it).
            secret = Encoding.ASCII.GetBytes(keyText);
        }
        else if (fileDialect is KeyFileDialect.Chrony)
        {
            // The two formats disagree; the rest of the file is chrony's.
            string name = MacAlgorithms.ChronyName(algorithm);
            warnings.Add(new KeyFileWarning(fileName, line.Number, $"key {id}: {keyText.Length} hex digits without a prefix are read as ASCII text, as chrony does, because line {evidenceLine} uses chrony syntax; ntpd would read them as hex: write '{id} {name} ASCII:{keyText}' or '{id} {name} HEX:{keyText}' to make it explicit"));
            secret = Encoding.ASCII.GetBytes(keyText);
        }
        else
        {
            // The two formats disagree; read it as ntpd does. In a file that is ntp.keys elsewhere,
            // chrony cannot read the file anyway, so only an undecided file gets a warning.
            if (fileDialect is null)
            {
                ambiguousHex.Add((id, line.Number));
            }

            secret = DecodeNtpKeysKey(keyField, fileName, line.Number, id, warnings);
        }

        try
        {
            int required = MacAlgorithms.RequiredKeyLength(algorithm);
            if (required != 0 && secret.Length != required)
            {
                if (!ntpKeysRules)
                {
                    throw Error(fileName, line.Number, id, $"{MacAlgorithms.ChronyName(algorithm)} needs a {required * 8}-bit key, got {secret.Length * 8} bits");
                }

                // ntpd and NTPsec truncate or zero-pad a CMAC key to the cipher's key length.
                string what = secret.Length > required ? "truncated" : "zero-padded";
                warnings.Add(new KeyFileWarning(fileName, line.Number, $"key {id}: {MacAlgorithms.NtpKeysName(algorithm)} key of {secret.Length * 8} bits {what} to {required * 8} bits, as ntpd does: give it exactly {required} bytes ({required * 2} hex digits)"));
                byte[] resized = new byte[required];
                secret.AsSpan(0, Math.Min(secret.Length, required)).CopyTo(resized);
                CryptographicOperations.ZeroMemory(secret);
                secret = resized;
            }

            if (algorithm == MacAlgorithm.Md5)
            {
                warnings.Add(new KeyFileWarning(fileName, line.Number, $"key {id}: MD5 is deprecated (RFC 8573): use AES128"));
            }

            if (required == 0 && secret.Length * 8 < MinRecommendedKeyBits)
            {
                warnings.Add(new KeyFileWarning(fileName, line.Number, $"key {id}: the key is only {secret.Length * 8} bits long; use at least {MinRecommendedKeyBits} bits ('tempusctl keygen' makes 160)"));
            }

            return new SymmetricKey(id, algorithm, secret, $"{fileName}:{line.Number}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    private static uint ParseId(string text, int number, string fileName, KeyFileDialect? dialect)
    {
        if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
        {
            string what = text.All(char.IsAsciiDigit) ? "is out of range" : "is not a number";
            throw new KeyFileException(fileName, number, $"key id '{text}' {what}: expected a number from 1 to {uint.MaxValue}");
        }

        if (id == 0)
        {
            throw new KeyFileException(fileName, number, "key id 0 is reserved: NTP uses it for packets without a key");
        }

        if (dialect is KeyFileDialect.NtpKeys && id > MaxNtpKeysId)
        {
            throw new KeyFileException(fileName, number, $"key id {id} is out of range for ntp.keys (1-{MaxNtpKeysId})");
        }

        return id;
    }

    private static MacAlgorithm ParseType(string text, string fileName, int number, uint id)
    {
        if (MacAlgorithms.TryParse(text, out MacAlgorithm algorithm))
        {
            return algorithm;
        }

        string upper = text.ToUpperInvariant();
        if (upper == "SHA")
        {
            throw Error(fileName, number, id, "digest type SHA is SHA-0, which is insecure and unsupported: use SHA1, or better AES128CMAC");
        }

        if (upper is "RIPEMD160" or "RMD160" or "TIGER" or "SHA224" or "SHA3-224" or "SHA3-256" or "SHA3-384" or "SHA3-512" or "MD4" or "MD2" or "MDC2" or "SM3"
            || upper.StartsWith("SHA512-", StringComparison.Ordinal))
        {
            throw Error(fileName, number, id, $"digest type '{text}' is unsupported ({ExpectedTypes})");
        }

        throw Error(fileName, number, id, $"unknown digest type '{text}' ({ExpectedTypes})");
    }

    private static byte[] DecodeChronyKey(Field field, string fileName, int number, uint id)
    {
        string text = field.Text;
        if (text.StartsWith(ChronyHexPrefix, StringComparison.Ordinal))
        {
            return DecodeHex(text, ChronyHexPrefix.Length, field.Column, fileName, number, id);
        }

        int skip = text.StartsWith(ChronyAsciiPrefix, StringComparison.Ordinal) ? ChronyAsciiPrefix.Length : 0;
        if (skip == text.Length)
        {
            throw Error(fileName, number, id, "empty key after ASCII:");
        }

        return Encoding.ASCII.GetBytes(text, skip, text.Length - skip);
    }

    private static byte[] DecodeNtpKeysKey(Field field, string fileName, int number, uint id, IList<KeyFileWarning> warnings)
    {
        string text = field.Text;
        if (text.Length <= NtpKeysMaxAsciiLength)
        {
            return Encoding.ASCII.GetBytes(text);
        }

        byte[] key = DecodeHex(text, 0, field.Column, fileName, number, id);
        if (key.Length <= NtpKeysMaxHexBytes)
        {
            return key;
        }

        warnings.Add(new KeyFileWarning(fileName, number, $"key {id}: key of {key.Length * 8} bits truncated to {NtpKeysMaxHexBytes * 8} bits, as NTPsec does"));
        byte[] truncated = key[..NtpKeysMaxHexBytes];
        CryptographicOperations.ZeroMemory(key);
        return truncated;
    }

    private static byte[] DecodeHex(string text, int start, int column, string fileName, int number, uint id)
    {
        int digits = text.Length - start;
        if (digits == 0)
        {
            throw Error(fileName, number, id, "empty key after HEX:");
        }

        for (int i = start; i < text.Length; i++)
        {
            if (!char.IsAsciiHexDigit(text[i]))
            {
                throw Error(fileName, number, id, $"bad hex digit '{text[i]}' at column {column + i}");
            }
        }

        if (digits % 2 != 0)
        {
            throw Error(fileName, number, id, $"odd number of hex digits ({digits}): a hex key is whole bytes");
        }

        return Convert.FromHexString(text.AsSpan(start));
    }

    private static bool HasChronyPrefix(string key) =>
        key.StartsWith(ChronyAsciiPrefix, StringComparison.Ordinal) || key.StartsWith(ChronyHexPrefix, StringComparison.Ordinal);

    private static bool IsEvenHex(string text) => text.Length % 2 == 0 && text.All(char.IsAsciiHexDigit);

    private static KeyFileException Error(string fileName, int number, uint id, string cause) =>
        new(fileName, number, $"key {id}: {cause}");

    private sealed record Field(string Text, int Column);

    private sealed record KeyLine(int Number, List<Field> Fields);
}
