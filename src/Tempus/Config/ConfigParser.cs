using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tempus.Sources;

namespace Tempus.Config;

/// <summary>
/// Reads a configuration in chrony.conf syntax: one directive per line, words separated by blanks, comment
/// lines starting with <c>#</c>, <c>!</c>, <c>;</c> or <c>%</c>, directive and option names case-insensitive.
/// Every problem is collected with its file and line (including files read through <c>include</c>,
/// <c>confdir</c> and <c>sourcedir</c>) so <c>tempusd --check-config</c> can report them all at once;
/// chrony directives Tempus accepts but does not implement land in <see cref="TempusConfiguration.Warnings"/>.
/// </summary>
public static partial class ConfigParser
{
    /// <summary>Longest line accepted; chrony's limit is 2048.</summary>
    public const int MaxLineLength = 2048;

    /// <summary>Largest configuration file accepted, in bytes.</summary>
    public const int MaxFileSize = 1 << 20;

    /// <summary>How deep <c>include</c>/<c>confdir</c> may nest below the main file (chrony's limit too).</summary>
    public const int MaxIncludeDepth = 10;

    /// <summary>Most files read in one pass through <c>include</c>, <c>confdir</c> and <c>sourcedir</c>.</summary>
    public const int MaxFiles = 1000;

    /// <summary>Most errors (and, separately, warnings) collected before reading stops.</summary>
    public const int MaxErrors = 1000;

    /// <summary>Most directories one <c>confdir</c> or <c>sourcedir</c> directive may name (chrony's limit).</summary>
    public const int MaxDirectoriesPerDirective = 10;

    private delegate void DirectiveHandler(TempusConfiguration config, Directive directive);

    private static readonly Dictionary<string, DirectiveHandler> s_handlers = new(StringComparer.Ordinal)
    {
        ["allow"] = (c, d) => ParseAccess(c, d, allow: true),
        ["authselectmode"] = ParseAuthSelectMode,
        ["bindaddress"] = ParseBindAddress,
        ["bindcmdaddress"] = ParseBindCommandAddress,
        ["clientloglimit"] = ParseClientLogLimit,
        ["cmdport"] = ParseCommandPort,
        ["combinelimit"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Selection = c.Selection with { CombineLimit = Directive.ParseDouble(d.Arguments[0], 0, double.MaxValue, "limit") };
        },
        ["confdir"] = ParseConfDir,
        ["maxjitter"] = (c, d) =>
        {
            // chrony: sources whose jitter exceeds this are not selectable ('~'); default 1 s.
            d.ExpectArguments(1, 1);
            c.Selection = c.Selection with { MaxJitter = Directive.ParseDouble(d.Arguments[0], 1e-9, double.MaxValue, "jitter") };
        },
        ["cryptonak"] = (c, d) =>
        {
            d.ExpectArguments(0, 0);
            c.CryptoNak = true;
        },
        ["deny"] = (c, d) => ParseAccess(c, d, allow: false),
        ["driftfile"] = ParseDriftFile,
        ["include"] = ParseInclude,
        ["keyfile"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.KeyFile = d.ResolvePath(d.Arguments[0]);
        },
        ["leapseclist"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.LeapSecondList = d.ResolvePath(d.Arguments[0]);
        },
        ["leapsecmode"] = ParseLeapSecMode,
        ["leapsectz"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            if (d.Arguments[0].Split('/').Contains(".."))
            {
                throw new DirectiveException($"zone '{Printable(d.Arguments[0])}' leaves the time zone database (a '..' component)");
            }

            c.LeapSecondTimezone = d.Arguments[0];
        },
        ["local"] = ParseLocal,
        ["log"] = ParseLog,
        ["logdir"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.LogDirectory = d.ResolvePath(d.Arguments[0]);
        },
        ["makestep"] = ParseMakeStep,
        ["maxchange"] = ParseMaxChange,
        ["maxdistance"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Selection = c.Selection with { MaxDistance = Directive.ParsePositiveDouble(d.Arguments[0], "distance") };
        },
        ["maxdrift"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Discipline = c.Discipline with { MaxDriftPpm = Directive.ParsePositiveDouble(d.Arguments[0], "drift (ppm)") };
        },
        ["maxntsconnections"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.MaxNtsConnections = Directive.ParseInt(d.Arguments[0], 1, 100000, "connection limit");
        },
        ["maxslewrate"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Discipline = c.Discipline with { MaxSlewRatePpm = Directive.ParsePositiveDouble(d.Arguments[0], "slew rate (ppm)") };
        },
        ["maxupdateskew"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Discipline = c.Discipline with { MaxUpdateSkewPpm = Directive.ParsePositiveDouble(d.Arguments[0], "skew (ppm)") };
        },
        ["metricsaddress"] = ParseMetricsAddress,
        ["minsources"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Selection = c.Selection with { MinSources = Directive.ParseInt(d.Arguments[0], 1, int.MaxValue, "source count") };
            d.Reader.MinSourcesSite = (d.FileName, d.Line);
        },
        ["nocerttimecheck"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NoCertTimeCheckUpdates = Directive.ParseInt(d.Arguments[0], 0, int.MaxValue, "update count");
        },
        ["noclientlog"] = (c, d) =>
        {
            d.ExpectArguments(0, 0);
            c.NoClientLog = true;
        },
        ["nosystemcert"] = (c, d) =>
        {
            d.ExpectArguments(0, 0);
            c.NoSystemCertificates = true;
        },
        // chrony reads ntscachedir as the old name of ntsdumpdir.
        ["ntscachedir"] = ParseNtsDumpDir,
        ["ntsdumpdir"] = ParseNtsDumpDir,
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
        ["ntsratelimit"] = (c, d) => c.NtsRateLimit = ParseRateLimit(d, new RateLimitOptions(IntervalLog2: 6), allowKod: false),
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
        ["peer"] = (c, d) => throw new DirectiveException("symmetric active mode (peer) is not supported; use server"),
        ["pool"] = (c, d) => ParseSource(c, d, SourceKind.Pool),
        ["port"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.Port = Directive.ParseInt(d.Arguments[0], 0, 65535, "port");
        },
        ["ratelimit"] = (c, d) => c.RateLimit = ParseRateLimit(d, new RateLimitOptions(), allowKod: true),
        ["rtcsync"] = (c, d) =>
        {
            d.ExpectArguments(0, 0);
            c.Discipline = c.Discipline with { RtcSync = true };
        },
        ["server"] = (c, d) => ParseSource(c, d, SourceKind.Server),
        ["ntsprocesses"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.NtsProcesses = Directive.ParseInt(d.Arguments[0], 0, Nts.NtsKeServerOptions.MaxEventLoops, "process count");
        },
        ["serverworkers"] = (c, d) =>
        {
            d.ExpectArguments(1, 1);
            c.ServerWorkers = Directive.ParseInt(d.Arguments[0], 0, 64, "worker count");
        },
        ["sourcedir"] = ParseSourceDir,
        ["trustedkey"] = ParseTrustedKey,
        ["user"] = ParseUser,
    };

    /// <summary>
    /// chrony directives an administrator's chrony.conf commonly carries that Tempus reads, warns about, and ignores,
    /// each with what the warning adds. None of them can make Tempus trust a time it would otherwise reject.
    /// </summary>
    private static readonly Dictionary<string, string> s_ignored = new(StringComparer.Ordinal)
    {
        ["acquisitionport"] = "; client requests use a random source port",
        ["cmdallow"] = "; there is no network command access, only the local control socket",
        ["cmddeny"] = "; there is no network command access, only the local control socket",
        ["cmdratelimit"] = "; there is no network command access, only the local control socket",
        ["corrtimeratio"] = "",
        ["dscp"] = "",
        ["dumpdir"] = "; measurement histories are not saved across restarts",
        ["hwclockfile"] = "",
        ["hwtimestamp"] = "; kernel receive timestamps are used",
        ["hwtstimeout"] = "",
        ["initstepslew"] = "; use makestep (for example 'makestep 1 3') with iburst sources instead",
        ["lock_all"] = "",
        ["logbanner"] = "",
        ["logchange"] = "",
        ["mailonchange"] = "",
        ["manual"] = "",
        ["maxclockerror"] = "",
        ["maxsamples"] = "",
        ["maxtxbuffers"] = "",
        ["minsamples"] = "",
        ["opencommands"] = "; there is no network command access, only the local control socket",
        ["pidfile"] = "; run tempusd under systemd, which tracks the process",
        ["ptpdomain"] = "",
        ["ptpport"] = "",
        ["refresh"] = "",
        ["reselectdist"] = "",
        ["rtcautotrim"] = "",
        ["rtcdevice"] = "",
        ["rtcfile"] = "; use rtcsync",
        ["rtconutc"] = "",
        ["sched_priority"] = "",
        ["smoothtime"] = "",
        ["stratumweight"] = "",
    };

    /// <summary>
    /// chrony directives Tempus rejects: ignoring them would leave out a time source the administrator counts on,
    /// open the server where chrony would not, or select sources chrony would reject.
    /// </summary>
    private static readonly HashSet<string> s_unsupported = new(StringComparer.Ordinal)
    {
        "bindacqaddress", "bindacqdevice", "binddevice", "bindcmddevice", "broadcast", "clockprecision",
        "fallbackdrift", "maxstratum", "minstratum", "ntpsigndsocket", "ntsaeads", "refclock", "tempcomp",
    };

    /// <summary>Directive names offered by "did you mean", in a fixed order.</summary>
    private static readonly string[] s_directiveNames = s_handlers.Keys.Concat(s_ignored.Keys).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The directives this version understands (including the ones it reads and ignores with a warning).</summary>
    public static IReadOnlyCollection<string> KnownDirectives => s_handlers.Keys.Concat(s_ignored.Keys).ToArray();

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

    /// <summary>
    /// Reads and parses a file and everything it includes, returning what could be parsed and every error found;
    /// warnings are in <see cref="TempusConfiguration.Warnings"/>.
    /// </summary>
    public static TempusConfiguration Check(string path, out IReadOnlyList<ConfigError> errors)
    {
        var config = new TempusConfiguration { FileName = path };
        string? text = ReadConfigurationFile(path, out string? problem);
        if (text is null)
        {
            errors = [new ConfigError(path, 0, $"cannot read configuration: {problem}")];
            return config;
        }

        return Parse(text, path, out errors);
    }

    /// <summary>Parses configuration text; <paramref name="fileName"/> names it in errors and anchors relative paths.</summary>
    public static TempusConfiguration Parse(string text, string fileName, out IReadOnlyList<ConfigError> errors)
    {
        var config = new TempusConfiguration { FileName = fileName };
        var reader = new ConfigReader(config);
        reader.ParseText(text, fileName, FileKind.Configuration);
        reader.ReadSourceDirectories();

        if (config.NtsServerCertificates.Count != config.NtsServerKeys.Count)
        {
            reader.Error(fileName, 0, $"{config.NtsServerCertificates.Count} ntsservercert but {config.NtsServerKeys.Count} ntsserverkey directives: each certificate needs its key, in the same order");
        }

        CheckSources(reader, config, config.Sources);
        CheckDuplicateSources(reader, config.Sources);
        CheckMinSources(reader, config);
        errors = reader.Errors;
        return config;
    }

    /// <summary>
    /// Reads the <c>*.sources</c> files of <c>sourcedir</c> directories as <c>tempusctl reload sources</c> does:
    /// for a file name found in several directories, the first directory's file wins; a missing directory is
    /// skipped, as chrony does (a DHCP client creates it only when it has servers to offer).
    /// </summary>
    /// <param name="directories">The directories, usually <see cref="TempusConfiguration.SourceDirectories"/>.</param>
    /// <param name="errors">Every problem found, with file and line.</param>
    /// <returns>The sources, in file-name order, then line order.</returns>
    public static IReadOnlyList<SourceDefinition> ReadSourceDirectories(IEnumerable<string> directories, out IReadOnlyList<ConfigError> errors)
        => ReadSourceDirectories(directories, configuration: null, out errors, out _);

    /// <summary>
    /// <see cref="ReadSourceDirectories(IEnumerable{string}, out IReadOnlyList{ConfigError})"/> that also checks the
    /// sources against a running configuration (a <c>key</c> not in <c>trustedkey</c>, a <c>certset</c> without
    /// <c>ntstrustedcerts</c>) and returns the warnings (ignored chrony options).
    /// </summary>
    /// <param name="directories">The directories, usually <see cref="TempusConfiguration.SourceDirectories"/>.</param>
    /// <param name="configuration">The configuration the sources join; null skips the checks against it.</param>
    /// <param name="errors">Every problem found, with file and line.</param>
    /// <param name="warnings">Ignored options and other remarks, with file and line.</param>
    /// <returns>The sources, in file-name order, then line order.</returns>
    public static IReadOnlyList<SourceDefinition> ReadSourceDirectories(
        IEnumerable<string> directories,
        TempusConfiguration? configuration,
        out IReadOnlyList<ConfigError> errors,
        out IReadOnlyList<ConfigError> warnings)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var scratch = new TempusConfiguration();
        var reader = new ConfigReader(scratch);
        foreach (string directory in directories)
        {
            reader.AddSourceDirectory(Path.GetFullPath(directory), directory, 0);
        }

        reader.ReadSourceDirectories();
        if (configuration is not null)
        {
            CheckSources(reader, configuration, scratch.Sources);
        }

        errors = reader.Errors;
        warnings = scratch.Warnings;
        return scratch.Sources;
    }

    private static string? ReadConfigurationFile(string path, out string? problem)
    {
        problem = null;
        try
        {
            if (Directory.Exists(path))
            {
                problem = "is a directory";
                return null;
            }

            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileSize)
            {
                problem = $"file is {info.Length} bytes, larger than the {MaxFileSize}-byte limit";
                return null;
            }

            // Read at most the limit even when the size is unknown (/dev/zero, /proc files, a growing file).
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            using var content = new MemoryStream();
            byte[] chunk = new byte[64 * 1024];
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                if (content.Length + read > MaxFileSize)
                {
                    problem = $"file is larger than the {MaxFileSize}-byte limit";
                    return null;
                }

                content.Write(chunk, 0, read);
            }

            // Invalid UTF-8 becomes U+FFFD and then an error naming the line, not an exception.
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false)
                .GetString(content.GetBuffer(), 0, (int)content.Length).TrimStart('\uFEFF');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = DescribeIoError(e);
            return null;
        }
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

    private static void ParseNtsDumpDir(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, 1);
        config.NtsDumpDirectory = d.ResolvePath(d.Arguments[0]);
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
            throw new DirectiveException($"expected [all] [SUBNET], got '{Printable(string.Join(' ', d.Arguments))}'");
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
            throw new DirectiveException($"'{Printable(d.Arguments[0])}' is not an IP address");
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
                    throw new DirectiveException($"unknown option '{Printable(d.Arguments[i])}' (this version supports: stratum N)");
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
                    throw new DirectiveException($"bad key range '{Printable(argument)}'");
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

    /// <summary>
    /// Makes a word from the file safe to quote in a message: control characters escaped, at most 64 characters,
    /// so a binary file gives readable errors.
    /// </summary>
    /// <summary>
    /// " (did you mean 'X'?)" when exactly one candidate is within two edits (a transposition counts as one) of the
    /// word, else "". Words longer than 32 characters get no suggestion, which keeps the cost bounded.
    /// </summary>
    private static string Suggest(string word, IReadOnlyList<string> candidates)
    {
        if (word.Length is 0 or > 32)
        {
            return "";
        }

        string lower = word.ToLowerInvariant();
        string? best = null;
        int bestDistance = 3;
        bool tie = false;
        foreach (string candidate in candidates)
        {
            int distance = EditDistance(lower, candidate);
            if (distance < bestDistance)
            {
                (best, bestDistance, tie) = (candidate, distance, false);
            }
            else if (distance == bestDistance)
            {
                tie = true;
            }
        }

        return best is null || tie ? "" : $" (did you mean '{best}'?)";
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    private static int EditDistance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2 || b.Length > 32)
        {
            return int.MaxValue;
        }

        int[,] d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary><see cref="Printable"/> for a path: long enough for any real path.</summary>
    private static string PrintablePath(string path) => Printable(path, 1024);

    private static string Printable(string text, int maxQuoted = 64) => DiagnosticText.Printable(text, maxQuoted);

    private enum FileKind
    {
        /// <summary>The main file, or one read by <c>include</c> or <c>confdir</c>: every directive.</summary>
        Configuration,

        /// <summary>A <c>*.sources</c> file of a <c>sourcedir</c>: only server, pool and peer lines.</summary>
        Sources,
    }

    private sealed class DirectiveException(string message) : Exception(message);

    /// <summary>One pass over a configuration: the files being read (for the recursion guard) and what was found.</summary>
    private sealed class ConfigReader(TempusConfiguration config)
    {
        private readonly List<string> _fileStack = new();
        private readonly List<(string Directory, string SiteFile, int SiteLine)> _sourceDirectories = new();
        private readonly List<ConfigError> _errors = new();
        private int _filesRead;
        private bool _stopped;

        public TempusConfiguration Config { get; } = config;

        public IReadOnlyList<ConfigError> Errors => _errors;

        /// <summary>Where <c>minsources</c> was last set, for the warning about unreachable values.</summary>
        public (string FileName, int Line)? MinSourcesSite { get; set; }

        public void Error(string fileName, int line, string message)
        {
            if (_errors.Count < MaxErrors)
            {
                _errors.Add(new ConfigError(fileName, line, message));
            }
            else if (!_stopped)
            {
                _stopped = true;
                _errors.Add(new ConfigError(fileName, line, $"more than {MaxErrors} errors: stopped reading here"));
            }
        }

        public void Warn(string fileName, int line, string message)
        {
            if (Config.Warnings.Count < MaxErrors)
            {
                Config.Warnings.Add(new ConfigError(fileName, line, message));
            }
        }

        public void ParseText(string text, string fileName, FileKind kind)
        {
            Config.ConfigurationFiles.Add(Path.GetFullPath(fileName));
            _fileStack.Add(Path.GetFullPath(fileName));
            try
            {
                ParseLines(text, fileName, kind);
            }
            finally
            {
                _fileStack.RemoveAt(_fileStack.Count - 1);
            }
        }

        private void ParseLines(string text, string fileName, FileKind kind)
        {
            string baseDirectory = Path.GetDirectoryName(Path.GetFullPath(fileName)) ?? "/";
            string[] lines = text.Split('\n');
            for (int index = 0; index < lines.Length && !_stopped; index++)
            {
                int lineNumber = index + 1;
                string line = lines[index].TrimEnd('\r');
                if (line.Length > MaxLineLength)
                {
                    Error(fileName, lineNumber, $"line is {line.Length} characters long, more than the {MaxLineLength}-character limit");
                    continue;
                }

                if (line.Contains('\0', StringComparison.Ordinal))
                {
                    Error(fileName, lineNumber, "line contains a NUL character");
                    continue;
                }

                string trimmed = line.Trim();
                if (trimmed.Length == 0 || trimmed[0] is '#' or '!' or ';' or '%')
                {
                    continue;
                }

                if (kind == FileKind.Sources && index == lines.Length - 1)
                {
                    // chrony reads only newline-terminated lines of a .sources file: the last one may be half-written.
                    Warn(fileName, lineNumber, "last line is not terminated by a newline and is ignored (the file may still be being written)");
                    continue;
                }

                string[] words = trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                string name = words[0].ToLowerInvariant();
                if (kind == FileKind.Sources && name is not ("server" or "pool" or "peer"))
                {
                    Error(fileName, lineNumber, $"'{Printable(words[0])}' is not allowed in a .sources file: only server, pool and peer lines are");
                    continue;
                }

                if (!s_handlers.TryGetValue(name, out DirectiveHandler? handler))
                {
                    if (s_ignored.TryGetValue(name, out string? note))
                    {
                        Warn(fileName, lineNumber, $"{name}: ignored: Tempus does not implement {name}{note}");
                    }
                    else if (s_unsupported.Contains(name))
                    {
                        Error(fileName, lineNumber, $"{name}: the chrony directive '{name}' is not supported by Tempus: remove it, or keep chronyd for this machine");
                    }
                    else
                    {
                        Error(fileName, lineNumber, $"unknown directive '{Printable(words[0])}'{Suggest(name, s_directiveNames)}");
                    }

                    continue;
                }

                var directive = new Directive(this, name, words[1..], fileName, lineNumber, baseDirectory);
                try
                {
                    handler(Config, directive);
                }
                catch (DirectiveException e)
                {
                    directive.Error(e.Message);
                }
            }
        }

        /// <summary>Reads one file named by <c>include</c>, <c>confdir</c> or <c>sourcedir</c>; problems are reported at the naming line.</summary>
        public void IncludeFile(string path, FileKind kind, string siteFile, int siteLine, string siteName)
        {
            string fullPath = Path.GetFullPath(path);
            int loopStart = _fileStack.IndexOf(fullPath);
            if (loopStart >= 0)
            {
                string chain = string.Join(" -> ", _fileStack.Skip(loopStart).Append(fullPath));
                Error(siteFile, siteLine, $"{siteName}: '{PrintablePath(path)}' includes itself ({chain})");
                return;
            }

            if (_fileStack.Count > MaxIncludeDepth)
            {
                Error(siteFile, siteLine, $"{siteName}: '{PrintablePath(path)}' would be nested more than {MaxIncludeDepth} levels deep: is there an include loop?");
                return;
            }

            if (++_filesRead > MaxFiles)
            {
                if (_filesRead == MaxFiles + 1)
                {
                    Error(siteFile, siteLine, $"{siteName}: more than {MaxFiles} files to read: '{PrintablePath(path)}' and later files are skipped");
                }

                return;
            }

            string? text = ReadConfigurationFile(path, out string? problem);
            if (text is null)
            {
                Error(siteFile, siteLine, $"{siteName}: cannot read '{PrintablePath(path)}': {problem}");
                return;
            }

            ParseText(text, path, kind);
        }

        public void AddSourceDirectory(string directory, string siteFile, int siteLine)
        {
            if (!Config.SourceDirectories.Contains(directory, StringComparer.Ordinal))
            {
                Config.SourceDirectories.Add(directory);
                _sourceDirectories.Add((directory, siteFile, siteLine));
            }
        }

        /// <summary>
        /// chrony reads the sourcedir files after the configuration, all directories together: for equal file
        /// names the directory named first wins, even across separate sourcedir directives.
        /// </summary>
        public void ReadSourceDirectories()
        {
            var files = new SortedDictionary<string, (string Path, string SiteFile, int SiteLine)>(StringComparer.Ordinal);
            foreach ((string directory, string siteFile, int siteLine) in _sourceDirectories)
            {
                foreach (string name in ListDirectory(directory, ".sources", siteFile, siteLine, "sourcedir"))
                {
                    files.TryAdd(name, (Path.Combine(directory, name), siteFile, siteLine));
                }
            }

            foreach ((string path, string siteFile, int siteLine) in files.Values)
            {
                IncludeFile(path, FileKind.Sources, siteFile, siteLine, "sourcedir");
            }
        }

        /// <summary>
        /// The names of the regular files in <paramref name="directory"/> ending in <paramref name="suffix"/>, as
        /// glob(3) lists <c>DIR/*SUFFIX</c>: hidden files excluded. A missing directory gives no names and no error.
        /// </summary>
        public List<string> ListDirectory(string directory, string suffix, string siteFile, int siteLine, string siteName)
            => ListMatching(directory, name => name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal), siteFile, siteLine, siteName, missingIsError: false);

        public List<string> ListMatching(string directory, Func<string, bool> match, string siteFile, int siteLine, string siteName, bool missingIsError)
        {
            var names = new List<string>();
            try
            {
                if (!Directory.Exists(directory))
                {
                    if (File.Exists(directory))
                    {
                        Error(siteFile, siteLine, $"{siteName}: '{PrintablePath(directory)}' is not a directory");
                    }
                    else if (missingIsError)
                    {
                        Error(siteFile, siteLine, $"{siteName}: directory '{PrintablePath(directory)}' does not exist");
                    }

                    return names;
                }

                foreach (string path in Directory.EnumerateFiles(directory))
                {
                    string name = Path.GetFileName(path);
                    if (!name.StartsWith('.') && match(name))
                    {
                        names.Add(name);
                        if (names.Count > MaxFiles)
                        {
                            break;
                        }
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Error(siteFile, siteLine, $"{siteName}: cannot list '{PrintablePath(directory)}': {DescribeIoError(e)}");
            }

            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    /// <summary>One line being parsed: the directive's arguments and where it came from.</summary>
    private sealed class Directive(ConfigReader reader, string name, string[] arguments, string fileName, int line, string baseDirectory)
    {
        public ConfigReader Reader { get; } = reader;

        public string Name { get; } = name;

        public string[] Arguments { get; } = arguments;

        public string FileName { get; } = fileName;

        public int Line { get; } = line;

        public void Error(string message) => Reader.Error(FileName, Line, $"{Name}: {message}");

        public void Warn(string message) => Reader.Warn(FileName, Line, $"{Name}: {message}");

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
                throw new DirectiveException($"option '{Printable(Arguments[i])}' needs a value");
            }

            return Arguments[++i];
        }

        public static int ParseInt(string text, int min, int max, string what)
        {
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            {
                throw new DirectiveException($"bad {what} '{Printable(text)}': not an integer");
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
                throw new DirectiveException($"bad {what} '{Printable(text)}': not an unsigned 32-bit integer");
            }

            return value;
        }

        public static double ParseDouble(string text, double min, double max, string what)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            {
                throw new DirectiveException($"bad {what} '{Printable(text)}': not a number");
            }

            if (value < min || value > max)
            {
                throw new DirectiveException(max == double.MaxValue
                    ? $"{what} {Format(value)} out of range: at least {Format(min)}"
                    : $"{what} {Format(value)} out of range {Format(min)}-{Format(max)}");
            }

            return value;
        }

        public static double ParsePositiveDouble(string text, string what)
        {
            double value = ParseDouble(text, double.MinValue, double.MaxValue, what);
            if (value <= 0)
            {
                throw new DirectiveException($"{what} {Format(value)} out of range: must be larger than 0");
            }

            return value;
        }

        private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        public string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
    }
}
