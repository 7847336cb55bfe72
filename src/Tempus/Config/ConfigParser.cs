using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tempus.Config;

/// <summary>
/// Reads a configuration in chrony.conf syntax: one directive per line, words separated by blanks, comment
/// lines starting with <c>#</c>, <c>!</c>, <c>;</c> or <c>%</c>. Every problem is collected with its file and
/// line so <c>tempusd --check-config</c> can report them all at once.
/// </summary>
public static class ConfigParser
{
    /// <summary>Longest line accepted; chrony's limit is 2048.</summary>
    public const int MaxLineLength = 2048;

    /// <summary>Largest configuration file accepted, in bytes.</summary>
    public const int MaxFileSize = 1 << 20;

    private delegate void DirectiveHandler(TempusConfiguration config, Directive directive);

    private static readonly Dictionary<string, DirectiveHandler> s_handlers = new(StringComparer.Ordinal)
    {
        ["allow"] = (c, d) => ParseAccess(c, d, allow: true),
        ["bindaddress"] = ParseBindAddress,
        ["cryptonak"] = (c, d) =>
        {
            d.ExpectArguments(0, 0);
            c.CryptoNak = true;
        },
        ["deny"] = (c, d) => ParseAccess(c, d, allow: false),
        ["keyfile"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.KeyFile = d.ResolvePath(d.Arguments[0]);
        },
        ["local"] = ParseLocal,
        ["maxntsconnections"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.MaxNtsConnections = Directive.ParseInt(d.Arguments[0], 1, 100000, "connection limit");
        },
        ["nocerttimecheck"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NoCertTimeCheckUpdates = Directive.ParseInt(d.Arguments[0], 0, int.MaxValue, "update count");
        },
        ["nosystemcert"] = (c, d) =>
        {
            d.ExpectArguments(0, 0);
            c.NoSystemCertificates = true;
        },
        ["ntsdumpdir"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsDumpDirectory = d.ResolvePath(d.Arguments[0]);
        },
        ["ntsntpserver"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsNtpServer = d.Arguments[0];
        },
        ["ntsport"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsPort = Directive.ParseInt(d.Arguments[0], 0, 65535, "port");
        },
        ["ntsrefresh"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsRefreshSeconds = Directive.ParseInt(d.Arguments[0], 0, int.MaxValue, "interval");
        },
        ["ntsrotate"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsRotateSeconds = Directive.ParseInt(d.Arguments[0], 0, int.MaxValue, "interval");
        },
        ["ntsservercert"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsServerCertificates.Add(d.ResolvePath(d.Arguments[0]));
        },
        ["ntsserverkey"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsServerKeys.Add(d.ResolvePath(d.Arguments[0]));
        },
        ["ntstrustedcerts"] = ParseTrustedCerts,
        ["port"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Port = Directive.ParseInt(d.Arguments[0], 0, 65535, "port");
        },
        ["trustedkey"] = ParseTrustedKey,
    };

    /// <summary>The directives this version understands.</summary>
    public static IReadOnlyCollection<string> KnownDirectives => s_handlers.Keys;

    /// <summary>Reads and parses a file; throws <see cref="ConfigurationException"/> listing every error.</summary>
    public static TempusConfiguration Load(string path)
    {
        TempusConfiguration config = Check(path, out IReadOnlyList<ConfigError> errors);
        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }

        return config;
    }

    /// <summary>Reads and parses a file, returning what could be parsed and every error found.</summary>
    public static TempusConfiguration Check(string path, out IReadOnlyList<ConfigError> errors)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileSize)
            {
                errors = [new ConfigError(path, 0, $"file is {info.Length} bytes, larger than the {MaxFileSize}-byte limit")];
                return new TempusConfiguration { FileName = path };
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors = [new ConfigError(path, 0, $"cannot read configuration: {DescribeIoError(e)}")];
            return new TempusConfiguration { FileName = path };
        }

        return Parse(text, path, out errors);
    }

    /// <summary>Parses configuration text; <paramref name="fileName"/> names it in errors and anchors relative paths.</summary>
    public static TempusConfiguration Parse(string text, string fileName, out IReadOnlyList<ConfigError> errors)
    {
        var config = new TempusConfiguration { FileName = fileName };
        var found = new List<ConfigError>();
        string baseDirectory = Path.GetDirectoryName(Path.GetFullPath(fileName)) ?? "/";
        int lineNumber = 0;
        foreach (string rawLine in text.Split('\n'))
        {
            lineNumber++;
            string line = rawLine.TrimEnd('\r');
            if (line.Length > MaxLineLength)
            {
                found.Add(new ConfigError(fileName, lineNumber, $"line is {line.Length} characters long, more than the {MaxLineLength}-character limit"));
                continue;
            }

            if (line.Contains('\0', StringComparison.Ordinal))
            {
                found.Add(new ConfigError(fileName, lineNumber, "line contains a NUL character"));
                continue;
            }

            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] is '#' or '!' or ';' or '%')
            {
                continue;
            }

            string[] words = trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            string name = words[0].ToLowerInvariant();
            if (!s_handlers.TryGetValue(name, out DirectiveHandler? handler))
            {
                found.Add(new ConfigError(fileName, lineNumber, $"unknown directive '{words[0]}'"));
                continue;
            }

            var directive = new Directive(words[1..], baseDirectory);
            try
            {
                handler(config, directive);
            }
            catch (DirectiveException e)
            {
                found.Add(new ConfigError(fileName, lineNumber, $"{name}: {e.Message}"));
            }
        }

        if (config.NtsServerCertificates.Count != config.NtsServerKeys.Count)
        {
            found.Add(new ConfigError(fileName, 0, $"{config.NtsServerCertificates.Count} ntsservercert but {config.NtsServerKeys.Count} ntsserverkey directives: each certificate needs its key, in the same order"));
        }

        errors = found;
        return config;
    }

    private static void ParseTrustedCerts(TempusConfiguration config, Directive d)
    {
        // chrony: ntstrustedcerts [set-id] file|directory; set 0 is used by sources without certset.
        d.ExpectArguments(1, 2);
        int set = d.Arguments.Length == 2 ? Directive.ParseInt(d.Arguments[0], 0, int.MaxValue, "certificate set") : 0;
        if (!config.NtsTrustedCertificates.TryGetValue(set, out List<string>? paths))
        {
            paths = new List<string>();
            config.NtsTrustedCertificates[set] = paths;
        }

        paths.Add(d.ResolvePath(d.Arguments[^1]));
    }

    private static void ParseAccess(TempusConfiguration config, Directive d, bool allow)
    {
        // chrony: allow|deny [all] [subnet]
        d.ExpectArguments(0, 2);
        bool all = false;
        int index = 0;
        if (d.Arguments.Length > 0 && d.Arguments[0] == "all")
        {
            all = true;
            index = 1;
        }

        if (d.Arguments.Length - index > 1)
        {
            throw new DirectiveException($"expected [all] [SUBNET], got '{string.Join(' ', d.Arguments)}'");
        }

        IPNetwork? network = null;
        if (index < d.Arguments.Length)
        {
            network = AccessRules.TryParseSubnet(d.Arguments[index], out string? error)
                ?? throw new DirectiveException(error!);
        }

        config.NtpAccess.Add(allow, all, network);
    }

    private static void ParseBindAddress(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, 1);
        if (!IPAddress.TryParse(d.Arguments[0], out IPAddress? address))
        {
            throw new DirectiveException($"'{d.Arguments[0]}' is not an IP address");
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            config.BindAddress = address;
        }
        else
        {
            config.BindAddress6 = address;
        }
    }

    private static void ParseLocal(TempusConfiguration config, Directive d)
    {
        // chrony: local [stratum N] [orphan] [distance D]; stratum defaults to 10.
        int stratum = 10;
        for (int i = 0; i < d.Arguments.Length; i++)
        {
            switch (d.Arguments[i])
            {
                case "stratum":
                    stratum = Directive.ParseInt(d.NextArgument(ref i), 1, 15, "stratum");
                    break;
                default:
                    throw new DirectiveException($"unknown option '{d.Arguments[i]}' (this version supports: stratum N)");
            }
        }

        config.LocalStratum = stratum;
    }

    private static void ParseTrustedKey(TempusConfiguration config, Directive d)
    {
        // ntp.conf: trustedkey ID [ID ...] with ranges written ID-ID (NTPsec); repeated directives add up.
        d.ExpectArguments(1, int.MaxValue);
        var keys = config.TrustedKeys is null ? new HashSet<uint>() : new HashSet<uint>(config.TrustedKeys);
        foreach (string argument in d.Arguments)
        {
            int dash = argument.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0)
            {
                uint from = Directive.ParseUInt(argument[..dash], "key id");
                uint to = Directive.ParseUInt(argument[(dash + 1)..], "key id");
                if (to < from || to - from > 65535)
                {
                    throw new DirectiveException($"bad key range '{argument}'");
                }

                for (uint id = from; id <= to; id++)
                {
                    keys.Add(id);
                }
            }
            else
            {
                keys.Add(Directive.ParseUInt(argument, "key id"));
            }
        }

        config.TrustedKeys = keys;
    }

    private static string DescribeIoError(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => e.Message,
    };

    private sealed class DirectiveException(string message) : Exception(message);

    private sealed class Directive(string[] arguments, string baseDirectory)
    {
        public string[] Arguments { get; } = arguments;

        public void ExpectArguments(int min, int max)
        {
            if (Arguments.Length < min)
            {
                throw new DirectiveException(min == 1 ? "missing argument" : $"expected at least {min} arguments, got {Arguments.Length}");
            }

            if (Arguments.Length > max)
            {
                throw new DirectiveException(max == 0 ? "takes no arguments" : $"too many arguments (at most {max})");
            }
        }

        public string NextArgument(ref int i)
        {
            if (i + 1 >= Arguments.Length)
            {
                throw new DirectiveException($"option '{Arguments[i]}' needs a value");
            }

            return Arguments[++i];
        }

        public static int ParseInt(string text, int min, int max, string what)
        {
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            {
                throw new DirectiveException($"bad {what} '{text}': not an integer");
            }

            if (value < min || value > max)
            {
                throw new DirectiveException($"{what} {value} out of range {min}-{max}");
            }

            return value;
        }

        public static uint ParseUInt(string text, string what)
        {
            if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint value))
            {
                throw new DirectiveException($"bad {what} '{text}': not an unsigned 32-bit integer");
            }

            return value;
        }

        public string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
    }
}
