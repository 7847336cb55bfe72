using System.Globalization;
using System.Text;
using Tempus.Crypto;
using Tempus.Protocol;

namespace Tempus.Nts;

/// <summary>
/// Saves and loads client <see cref="NtsSession"/>s under <c>ntsdumpdir</c>, one file per NTS-KE server, so that a
/// restarted client resumes with its keys and unused cookies instead of a new key exchange (RFC 8915 §5.7: keep at
/// least one unused cookie, the keys and the algorithm in persistent storage). Files are written atomically with
/// mode 0600 (they hold the C2S and S2C keys) and parsed with hard limits; a damaged file is an
/// <see cref="NtsStateFileException"/> naming the file, the line and the cause, after which the caller runs NTS-KE.
/// </summary>
/// <remarks>
/// Format (version 1), one item per line:
/// <code>
/// tempus-nts-session 1
/// ke-server time.example 4460
/// ntp-server time.example 123
/// aead 15
/// established 1764500000123456789
/// c2s &lt;hex&gt;
/// s2c &lt;hex&gt;
/// cookie &lt;hex&gt;        (0 to 8 lines, oldest first)
/// </code>
/// </remarks>
public sealed class NtsSessionStore
{
    /// <summary>The first line of a session file, naming the format and its version.</summary>
    public const string FileHeader = "tempus-nts-session 1";

    /// <summary>The file name suffix.</summary>
    public const string FileExtension = ".nts";

    /// <summary>Creates a store over <paramref name="directory"/>; it is created (mode 0700) on the first save.</summary>
    /// <param name="directory">The <c>ntsdumpdir</c> directory.</param>
    public NtsSessionStore(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
    }

    /// <summary>The directory the sessions live in.</summary>
    public string Directory { get; }

    /// <summary>
    /// The file for an NTS-KE server: <c>&lt;host&gt;_&lt;port&gt;.nts</c>, with every character but letters, digits,
    /// '.' and '-' written as <c>%XX</c> so that no host name (an IPv6 literal included) can leave the directory.
    /// </summary>
    /// <param name="keServer">The NTS-KE host as configured.</param>
    /// <param name="kePort">The NTS-KE port.</param>
    /// <returns>The full path.</returns>
    public string GetPath(string keServer, int kePort)
    {
        ArgumentException.ThrowIfNullOrEmpty(keServer);
        var name = new StringBuilder(keServer.Length + 16);
        foreach (char c in keServer)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' || (c == '.' && name.Length > 0))
            {
                name.Append(char.ToLowerInvariant(c));
            }
            else
            {
                foreach (byte b in Encoding.UTF8.GetBytes(c.ToString()))
                {
                    name.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
                }
            }
        }

        name.Append('_').Append(kePort.ToString(CultureInfo.InvariantCulture)).Append(FileExtension);
        return Path.Combine(Directory, name.ToString());
    }

    /// <summary>Writes <paramref name="session"/> to its file, replacing the previous one atomically (mode 0600).</summary>
    /// <param name="session">The session, with its unused cookies (at most eight are saved).</param>
    /// <exception cref="NtsStateFileException">The file cannot be written.</exception>
    /// <exception cref="ArgumentException">The session cannot be represented (a host name with whitespace, keys of the wrong length).</exception>
    public void Save(NtsSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        CheckHost(session.KeServer, nameof(session));
        CheckHost(session.NtpServer, nameof(session));
        int keyLength = NtsAead.GetKeyLength(session.Algorithm);
        if (session.C2SKey.Length != keyLength || session.S2CKey.Length != keyLength)
        {
            throw new ArgumentException($"AEAD {(ushort)session.Algorithm} keys are {keyLength} bytes", nameof(session));
        }

        using var writer = new NtsStateFileWriter();
        writer.Append("# Tempus NTS client session (RFC 8915). SECRET: holds the C2S and S2C keys.").Line();
        writer.Append(FileHeader).Line();
        writer.Append("ke-server ").Append(session.KeServer).Append(" ").Append(session.KePort).Line();
        writer.Append("ntp-server ").Append(session.NtpServer).Append(" ").Append(session.NtpPort).Line();
        writer.Append("aead ").Append((ushort)session.Algorithm).Line();
        writer.Append("established ").Append(session.EstablishedUnixNanoseconds).Line();
        writer.Append("c2s ").AppendHex(session.C2SKey).Line();
        writer.Append("s2c ").AppendHex(session.S2CKey).Line();
        int saved = 0;
        foreach (byte[] cookie in session.Cookies)
        {
            if (saved == NtsKeLimits.MaxCookies)
            {
                break;
            }

            if (cookie.Length is > 0 and <= NtsKeLimits.MaxRecordBodyLength)
            {
                writer.Append("cookie ").AppendHex(cookie).Line();
                saved++;
            }
        }

        NtsStateFile.WriteAtomic(GetPath(session.KeServer, session.KePort), writer.Text);
    }

    /// <summary>Loads the saved session for an NTS-KE server.</summary>
    /// <param name="keServer">The NTS-KE host as configured.</param>
    /// <param name="kePort">The NTS-KE port.</param>
    /// <returns>The session, or null when none was saved.</returns>
    /// <exception cref="NtsStateFileException">The file cannot be read or is damaged; delete it or let NTS-KE replace it.</exception>
    public NtsSession? Load(string keServer, int kePort)
    {
        string path = GetPath(keServer, kePort);
        char[] text;
        int length;
        try
        {
            text = NtsStateFile.ReadText(path, out length);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            NtsSession session = Parse(text.AsSpan(0, length), path);
            if (!string.Equals(session.KeServer, keServer, StringComparison.OrdinalIgnoreCase) || session.KePort != kePort)
            {
                throw new NtsStateFileException(path, 0, $"holds the session of {session.KeServer}:{session.KePort}, not {keServer}:{kePort}");
            }

            return session;
        }
        finally
        {
            NtsStateFile.Wipe(text);
        }
    }

    /// <summary>Removes the saved session of an NTS-KE server (after an NTS NAK, or when the source is removed).</summary>
    /// <param name="keServer">The NTS-KE host as configured.</param>
    /// <param name="kePort">The NTS-KE port.</param>
    /// <exception cref="NtsStateFileException">The file exists but cannot be removed.</exception>
    public void Delete(string keServer, int kePort)
    {
        string path = GetPath(keServer, kePort);
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NtsStateFileException(path, 0, $"cannot delete: {e.Message}", e);
        }
    }

    private static NtsSession Parse(ReadOnlySpan<char> text, string path)
    {
        var reader = new NtsStateFileReader(text, path);
        Span<Range> t = stackalloc Range[3];
        int count = reader.ReadLine(t, out ReadOnlySpan<char> line);
        if (count == 0)
        {
            throw new NtsStateFileException(path, 0, "empty (truncated by a crash or a full disk?)");
        }

        if (!line.SequenceEqual(FileHeader))
        {
            throw reader.Error($"expected '{FileHeader}': not a session file, or one from a newer Tempus");
        }

        string? keServer = null;
        string? ntpServer = null;
        int kePort = 0;
        int ntpPort = 0;
        NtsAeadAlgorithm? algorithm = null;
        long established = -1;
        byte[]? c2s = null;
        byte[]? s2c = null;
        var cookies = new List<byte[]>();
        while ((count = reader.ReadLine(t, out line)) > 0)
        {
            ReadOnlySpan<char> keyword = line[t[0]];
            ReadOnlySpan<char> first = count > 1 ? line[t[1]] : default;
            switch (keyword)
            {
                case "ke-server" or "ntp-server":
                    if (count != 3 || first.Length > NtsKeLimits.MaxServerNameLength || !int.TryParse(line[t[2]], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                    {
                        throw reader.Error($"expected '{keyword} <host> <port 1-65535>'");
                    }

                    if (keyword is "ke-server")
                    {
                        keServer = first.ToString();
                        kePort = port;
                    }
                    else
                    {
                        ntpServer = first.ToString();
                        ntpPort = port;
                    }

                    break;

                case "aead":
                    if (count != 2 || !ushort.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out ushort id) || !NtsAead.IsSupported((NtsAeadAlgorithm)id))
                    {
                        throw reader.Error("expected 'aead <15, 16, 17 or 30>'");
                    }

                    algorithm = (NtsAeadAlgorithm)id;
                    break;

                case "established":
                    if (count != 2 || !NtsStateFile.TryParseLong(first, out established))
                    {
                        throw reader.Error("expected 'established <Unix nanoseconds>'");
                    }

                    break;

                case "c2s" or "s2c":
                    if (algorithm is null)
                    {
                        throw reader.Error($"'{keyword}' before 'aead'");
                    }

                    byte[] key = new byte[NtsAead.GetKeyLength(algorithm.Value)];
                    if (count != 2 || !NtsStateFile.TryParseHex(first, key))
                    {
                        throw reader.Error($"expected '{keyword} <{key.Length * 2} hex digits>' for AEAD {(ushort)algorithm.Value}");
                    }

                    if (keyword is "c2s")
                    {
                        c2s = key;
                    }
                    else
                    {
                        s2c = key;
                    }

                    break;

                case "cookie":
                    if (cookies.Count == NtsKeLimits.MaxCookies)
                    {
                        throw reader.Error($"more than {NtsKeLimits.MaxCookies} cookies");
                    }

                    if (count != 2 || first.Length % 2 != 0 || first.Length / 2 is < 1 or > NtsKeLimits.MaxRecordBodyLength)
                    {
                        throw reader.Error($"expected 'cookie <hex>' of 1 to {NtsKeLimits.MaxRecordBodyLength} bytes");
                    }

                    byte[] cookie = new byte[first.Length / 2];
                    if (!NtsStateFile.TryParseHex(first, cookie))
                    {
                        throw reader.Error("the cookie is not hex");
                    }

                    cookies.Add(cookie);
                    break;

                default:
                    throw reader.Error($"unknown keyword '{keyword}'");
            }
        }

        string missing = keServer is null ? "ke-server" : ntpServer is null ? "ntp-server" : algorithm is null ? "aead"
            : established < 0 ? "established" : c2s is null ? "c2s" : s2c is null ? "s2c" : string.Empty;
        if (missing.Length > 0)
        {
            throw new NtsStateFileException(path, 0, $"has no '{missing}' line (truncated?)");
        }

        var session = new NtsSession
        {
            KeServer = keServer!,
            KePort = kePort,
            NtpServer = ntpServer!,
            NtpPort = ntpPort,
            Algorithm = algorithm!.Value,
            C2SKey = c2s!,
            S2CKey = s2c!,
            EstablishedUnixNanoseconds = established,
        };
        foreach (byte[] cookie in cookies)
        {
            session.Cookies.Enqueue(cookie);
        }

        return session;
    }

    private static void CheckHost(string host, string paramName)
    {
        if (string.IsNullOrEmpty(host) || host.Length > NtsKeLimits.MaxServerNameLength || host.Any(c => c is <= ' ' or > '~'))
        {
            throw new ArgumentException($"host '{host}' cannot be saved: empty, longer than {NtsKeLimits.MaxServerNameLength} characters, or not printable ASCII", paramName);
        }
    }
}
