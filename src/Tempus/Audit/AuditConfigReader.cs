using System.Globalization;
using System.Net;
using Tempus.Config;
using Tempus.Selection;
using Tempus.Sources;

namespace Tempus.Audit;

/// <summary>
/// Reads a configuration into an <see cref="AuditInput"/>: a Tempus config through <see cref="ConfigParser"/>, a
/// chrony.conf or an ntp.conf (classic ntpd or NTPsec) through lenient readers of their own. The audit reads other
/// people's files: unknown directives are tolerated, and a known directive that cannot be read becomes a
/// <see cref="AuditCodes.ConfigLineIgnored"/> finding naming the file and line instead of an error.
/// </summary>
public static class AuditConfigReader
{
    /// <summary>Most files read through include, confdir, sourcedir and includefile, the main file included.</summary>
    public const int MaxFiles = 256;

    /// <summary>Most trusted key ids accepted from <c>trustedkey</c> ranges.</summary>
    public const int MaxTrustedKeys = 1 << 20;

    /// <summary>Deepest nesting of included files.</summary>
    public const int MaxIncludeDepth = 8;

    // Public addresses spread over the address space: a server that allows all of them answers the internet.
    private static readonly IPAddress[] s_publicProbes =
        [IPAddress.Parse("1.0.0.1"), IPAddress.Parse("64.6.64.6"), IPAddress.Parse("129.6.15.28"), IPAddress.Parse("203.0.113.7"), IPAddress.Parse("2001:4860:4860::8888"), IPAddress.Parse("2a00:1450::1")];

    private static readonly HashSet<string> s_ntpOnly = new(StringComparer.Ordinal)
    {
        "restrict", "keys", "tinker", "statsdir", "filegen", "statistics", "includefile", "enable", "disable", "tos",
        "interface", "nts", "logconfig", "logfile", "broadcastclient", "manycastclient", "crypto", "discard", "mru", "leapfile", "fudge",
    };

    private static readonly HashSet<string> s_chronyOnly = new(StringComparer.Ordinal)
    {
        "makestep", "rtcsync", "keyfile", "authselectmode", "ntsdumpdir", "ntstrustedcerts", "allow", "deny", "cmdport",
        "bindcmdaddress", "maxupdateskew", "hwtimestamp", "sourcedir", "confdir", "local", "logdir", "leapsectz", "ratelimit",
        "ntsservercert", "ntsserverkey", "nocerttimecheck", "nosystemcert", "maxdistance", "minsources", "rtcfile", "dumpdir",
        "cmdallow", "maxslewrate", "maxchange", "ntsport", "ntsrefresh", "ntsrotate", "clientloglimit", "noclientlog",
    };

    private static readonly HashSet<string> s_tempusOnly = new(StringComparer.Ordinal) { "serverworkers", "metricsaddress", "cryptonak" };

    /// <summary>
    /// Guesses the language of a configuration: by file name first (chrony, ntp/ntpsec, tempus), then by directives
    /// only one language has (ntp.conf's <c>restrict</c>, <c>keys</c>, <c>tinker</c>; chrony's <c>makestep</c>,
    /// <c>keyfile</c>, <c>allow</c>...). A file that says nothing either way is read as a Tempus config.
    /// </summary>
    /// <param name="path">The file's path.</param>
    /// <param name="text">The file's content.</param>
    public static ConfigDialect Detect(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(text);
        string name = Path.GetFileName(path).ToLowerInvariant();
        string directory = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)) ?? "").ToLowerInvariant();
        int ntp = 0, chrony = 0, tempus = 0;
        foreach (string[] words in Lines(text, '#').Select(l => l.Words))
        {
            string directive = words[0].ToLowerInvariant();
            ntp += s_ntpOnly.Contains(directive) ? 1 : 0;
            chrony += s_chronyOnly.Contains(directive) ? 1 : 0;
            tempus += s_tempusOnly.Contains(directive) ? 1 : 0;
        }

        // The file's own name first (a chrony.conf kept in a directory named after Tempus is still chrony's), then its directory's.
        foreach (string part in (ReadOnlySpan<string>)[name, directory])
        {
            if (part.Contains("chrony", StringComparison.Ordinal))
            {
                return ConfigDialect.Chrony;
            }

            if (part.Contains("tempus", StringComparison.Ordinal))
            {
                return ConfigDialect.Tempus;
            }

            if (part.StartsWith("ntp", StringComparison.Ordinal))
            {
                return ConfigDialect.Ntp;
            }
        }

        if (ntp > 0 && chrony == 0 && tempus == 0)
        {
            return ConfigDialect.Ntp;
        }

        return tempus > 0 || chrony == 0 ? ConfigDialect.Tempus : ConfigDialect.Chrony;
    }

    /// <summary>Reads <paramref name="path"/> as <paramref name="dialect"/>, or as what <see cref="Detect"/> says when null.</summary>
    /// <exception cref="IOException">The file cannot be read, or is larger than <see cref="ConfigParser.MaxFileSize"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The file is not readable by this user.</exception>
    public static AuditInput Read(string path, ConfigDialect? dialect = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text = ReadBounded(path);
        return Parse(text, path, dialect ?? Detect(path, text));
    }

    /// <summary>Reads configuration text; <paramref name="fileName"/> names it in findings and anchors relative paths and includes.</summary>
    public static AuditInput Parse(string text, string fileName, ConfigDialect dialect)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        return dialect switch
        {
            ConfigDialect.Tempus => FromTempus(ConfigParser.Parse(text, fileName, out IReadOnlyList<ConfigError> errors), errors),
            ConfigDialect.Chrony => new ChronyReader(fileName).Read(text),
            _ => new NtpReader(fileName).Read(text),
        };
    }

    /// <summary>The audit model of a parsed Tempus configuration; each error becomes a <see cref="AuditCodes.ConfigError"/> failure.</summary>
    public static AuditInput FromTempus(TempusConfiguration config, IReadOnlyList<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(errors);
        var input = new AuditInput { FileName = config.FileName ?? "", Dialect = ConfigDialect.Tempus };
        foreach (ConfigError error in errors)
        {
            input.ReadFindings.Add(new AuditFinding(
                AuditSeverity.Failure, null, AuditCodes.ConfigError, $"{error}: tempusd refuses to start with this configuration", "correct the line (tempusd --check-config lists every error)"));
        }

        foreach (ConfigError warning in config.Warnings)
        {
            input.ReadFindings.Add(new AuditFinding(
                AuditSeverity.Info, null, AuditCodes.ConfigLineIgnored, $"{warning} (tempusd accepts the line and ignores it)", "remove the line if it was meant to do something"));
        }

        foreach (SourceDefinition source in config.Sources)
        {
            input.Sources.Add(new AuditSource
            {
                Kind = source.Kind == SourceKind.Pool ? AuditSourceKind.Pool : AuditSourceKind.Server,
                Host = source.Host,
                Port = source.Port,
                Nts = source.Nts,
                NtsPort = source.NtsPort,
                CertSet = source.CertSet,
                KeyId = source.KeyId,
                Options = source.SelectOptions,
                MaxSources = source.MaxSources,
                FileName = source.FileName,
                Line = source.Line,
            });
        }

        input.AuthSelectMode = config.Selection.AuthSelectMode;
        input.AuthSelectModeOrigin = config.Selection.AuthSelectMode == AuthSelectMode.Prefer
            ? "authselectmode prefer (Tempus's default)"
            : $"authselectmode {ModeName(config.Selection.AuthSelectMode)}";
        input.KeyFile = config.KeyFile;
        input.TrustedKeys = config.TrustedKeys is null ? null : new HashSet<uint>(config.TrustedKeys);
        input.NtsDumpDirectory = config.NtsDumpDirectory;
        input.MakeStep = config.Discipline.MakeStepThreshold is not null;
        input.NoCertTimeCheckUpdates = config.NoCertTimeCheckUpdates;
        input.ServesNtp = config.NtpAccess.HasAllowRules && config.Port != 0;
        input.ServesEveryone = input.ServesNtp && AnswersEveryone(config.NtpAccess);
        input.RateLimit = config.RateLimit is not null;
        input.User = config.User;
        foreach ((int set, List<string> paths) in config.NtsTrustedCertificates)
        {
            input.NtsTrustedCertificates[set] = new List<string>(paths);
        }

        input.NoSystemCertificates = config.NoSystemCertificates;
        return input;
    }

    // Open to the whole IPv4 or the whole IPv6 internet (allow 0/0 alone is open too).
    private static bool AnswersEveryone(AccessRules access) =>
        s_publicProbes.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).All(access.IsAllowed)
        || s_publicProbes.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).All(access.IsAllowed);

    /// <summary>The directive's spelling of a mode: require, prefer, mix, ignore.</summary>
    public static string ModeName(AuthSelectMode mode) => mode switch
    {
        AuthSelectMode.Require => "require",
        AuthSelectMode.Prefer => "prefer",
        AuthSelectMode.Mix => "mix",
        _ => "ignore",
    };

    private static string ReadBounded(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length > ConfigParser.MaxFileSize)
        {
            throw new IOException($"{path} is {info.Length} bytes, larger than the {ConfigParser.MaxFileSize}-byte limit for a configuration file");
        }

        return File.ReadAllText(path);
    }

    private readonly record struct Line(int Number, string[] Words);

    // Splits text into lines of words: chrony comments start a line with # ! ; %, ntp.conf's # may end a line.
    private static IEnumerable<Line> Lines(string text, char inlineComment)
    {
        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw.TrimEnd('\r');
            if (line.Length > ConfigParser.MaxLineLength || line.Contains('\0', StringComparison.Ordinal))
            {
                yield return new Line(number, ["\0"]);
                continue;
            }

            if (inlineComment != '\0' && line.IndexOf(inlineComment, StringComparison.Ordinal) is int hash and >= 0)
            {
                line = line[..hash];
            }

            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] is '#' or '!' or ';' or '%')
            {
                continue;
            }

            yield return new Line(number, trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
    }

    private abstract class LenientReader
    {
        private readonly HashSet<string> _visited = new(StringComparer.Ordinal);

        protected LenientReader(string fileName, ConfigDialect dialect)
        {
            Input = new AuditInput { FileName = fileName, Dialect = dialect };
        }

        protected AuditInput Input { get; }

        protected string CurrentFile { get; private set; } = "";

        protected int CurrentLine { get; private set; }

        private int Depth { get; set; }

        public AuditInput Read(string text)
        {
            ReadText(text, Input.FileName);
            Finish();
            return Input;
        }

        protected abstract char InlineComment { get; }

        protected abstract void Directive(string name, string[] arguments);

        protected abstract void Finish();

        protected void ReadText(string text, string fileName)
        {
            if (_visited.Count >= MaxFiles)
            {
                Skip($"more than {MaxFiles} configuration files; {fileName} and the rest were not read");
                return;
            }

            _visited.Add(Path.GetFullPath(fileName));
            (string savedFile, int savedLine) = (CurrentFile, CurrentLine);
            CurrentFile = fileName;
            foreach (Line line in Lines(text, InlineComment))
            {
                CurrentLine = line.Number;
                if (line.Words[0] == "\0")
                {
                    Skip($"line longer than {ConfigParser.MaxLineLength} characters or containing a NUL character");
                    continue;
                }

                try
                {
                    Directive(line.Words[0].ToLowerInvariant(), line.Words[1..]);
                }
                catch (FormatException e)
                {
                    Skip($"{line.Words[0]}: {e.Message}");
                }
            }

            (CurrentFile, CurrentLine) = (savedFile, savedLine);
        }

        protected void Include(string path)
        {
            string full = Resolve(path);
            if (_visited.Contains(full))
            {
                return;
            }

            if (Depth >= MaxIncludeDepth)
            {
                Skip($"includes nested deeper than {MaxIncludeDepth} levels; {full} was not read");
                return;
            }

            string text;
            try
            {
                text = ReadBounded(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Skip($"cannot read included file {full}: {e.Message}");
                return;
            }

            Depth++;
            ReadText(text, full);
            Depth--;
        }

        protected void IncludePattern(string pattern)
        {
            string full = Resolve(pattern);
            string directory = Path.GetDirectoryName(full) ?? "/";
            string filePattern = Path.GetFileName(full);
            if (!filePattern.Contains('*', StringComparison.Ordinal) && !filePattern.Contains('?', StringComparison.Ordinal))
            {
                Include(full);
                return;
            }

            if (!Directory.Exists(directory))
            {
                return;
            }

            foreach (string file in Directory.EnumerateFiles(directory, filePattern).Order(StringComparer.Ordinal).Take(MaxFiles))
            {
                Include(file);
            }
        }

        protected string Resolve(string path) =>
            Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(CurrentFile)) ?? "/", path));

        protected void Skip(string why) =>
            Input.ReadFindings.Add(new AuditFinding(
                AuditSeverity.Info, null, AuditCodes.ConfigLineIgnored, $"{CurrentFile}:{CurrentLine}: {why}; the audit skipped this line", "check the line: the daemon may reject it too"));

        protected static int Int(string text, int min, int max, string what)
        {
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            {
                throw new FormatException($"bad {what} '{text}' (expected an integer {min}-{max})");
            }

            return value;
        }

        protected static uint KeyId(string text)
        {
            if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint value) || value == 0)
            {
                throw new FormatException($"bad key id '{text}' (expected 1-4294967295)");
            }

            return value;
        }

        protected static string Next(string[] arguments, ref int i)
        {
            if (i + 1 >= arguments.Length)
            {
                throw new FormatException($"option '{arguments[i]}' needs a value");
            }

            return arguments[++i];
        }

        protected void AddTrustedKeys(string[] arguments)
        {
            // ntpd: trustedkey 1 2 (4 ... 8); NTPsec and Tempus: 4-8.
            Input.TrustedKeys ??= new HashSet<uint>();
            for (int i = 0; i < arguments.Length; i++)
            {
                string argument = arguments[i].Trim('(', ')');
                if (argument.Length == 0)
                {
                    continue;
                }

                if (argument == "..." && i > 0 && i + 1 < arguments.Length)
                {
                    uint from = KeyId(arguments[i - 1].Trim('(', ')'));
                    uint to = KeyId(arguments[i + 1].Trim('(', ')'));
                    AddRange(from, to, argument);
                    continue;
                }

                int dash = argument.IndexOf('-', StringComparison.Ordinal);
                if (dash > 0)
                {
                    AddRange(KeyId(argument[..dash]), KeyId(argument[(dash + 1)..]), argument);
                }
                else
                {
                    Input.TrustedKeys.Add(KeyId(argument));
                }
            }
        }

        private void AddRange(uint from, uint to, string text)
        {
            if (to < from || to - from > 65535)
            {
                throw new FormatException($"bad key range '{text}'");
            }

            if (Input.TrustedKeys!.Count + (long)(to - from) > MaxTrustedKeys)
            {
                throw new FormatException($"more than {MaxTrustedKeys} trusted key ids");
            }

            for (uint id = from; id <= to; id++)
            {
                Input.TrustedKeys.Add(id);
            }
        }
    }

    private sealed class ChronyReader(string fileName) : LenientReader(fileName, ConfigDialect.Chrony)
    {
        private static readonly HashSet<string> s_valueOptions = new(StringComparer.Ordinal)
        {
            "port", "ntsport", "certset", "key", "minpoll", "maxpoll", "maxsources", "polltarget", "version", "presend", "minstratum",
            "maxdelay", "maxdelayratio", "maxdelaydevratio", "maxdelayquant", "mindelay", "asymmetry", "offset", "filter", "extfield",
            "minsamples", "maxsamples", "refid", "lock", "poll", "dpoll", "rate", "precision", "delay", "stratum", "width", "pps", "local",
        };

        private readonly AccessRules _access = new();
        private int _port = 123;
        private bool _modeSet;

        protected override char InlineComment => '\0';

        protected override void Directive(string name, string[] a)
        {
            switch (name)
            {
                case "server":
                case "pool":
                case "peer":
                    Source(name == "pool" ? AuditSourceKind.Pool : name == "peer" ? AuditSourceKind.Peer : AuditSourceKind.Server, a);
                    break;
                case "refclock":
                    Refclock(a);
                    break;
                case "keyfile":
                    Input.KeyFile = Resolve(Single(a));
                    break;
                case "trustedkey":
                    AddTrustedKeys(a);
                    break;
                case "authselectmode":
                    Input.AuthSelectMode = Single(a) switch
                    {
                        "require" => AuthSelectMode.Require,
                        "prefer" => AuthSelectMode.Prefer,
                        "mix" => AuthSelectMode.Mix,
                        "ignore" => AuthSelectMode.Ignore,
                        string other => throw new FormatException($"unknown mode '{other}' (require, prefer, mix or ignore)"),
                    };
                    Input.AuthSelectModeOrigin = $"authselectmode {a[0]} ({CurrentFile}:{CurrentLine})";
                    _modeSet = true;
                    break;
                case "ntsdumpdir":
                    Input.NtsDumpDirectory = Resolve(Single(a));
                    break;
                case "makestep":
                    Input.MakeStep = a.Length == 2 ? true : throw new FormatException("expected THRESHOLD LIMIT");
                    break;
                case "nocerttimecheck":
                    Input.NoCertTimeCheckUpdates = Int(Single(a), 0, int.MaxValue, "update count");
                    break;
                case "ntstrustedcerts":
                    TrustedCerts(a);
                    break;
                case "nosystemcert":
                    Input.NoSystemCertificates = true;
                    break;
                case "allow":
                case "deny":
                    Access(name == "allow", a);
                    break;
                case "ratelimit":
                    Input.RateLimit = true;
                    break;
                case "port":
                    _port = Int(Single(a), 0, 65535, "port");
                    break;
                case "user":
                    Input.User = Single(a);
                    break;
                case "include":
                    IncludePattern(Single(a));
                    break;
                case "confdir":
                    foreach (string directory in a)
                    {
                        IncludePattern(Path.Combine(directory, "*.conf"));
                    }

                    break;
                case "sourcedir":
                    foreach (string directory in a)
                    {
                        IncludePattern(Path.Combine(directory, "*.sources"));
                    }

                    break;
            }
        }

        protected override void Finish()
        {
            if (!_modeSet)
            {
                // chrony ≥ 4.0: authselectmode defaults to mix.
                Input.AuthSelectMode = AuthSelectMode.Mix;
                Input.AuthSelectModeOrigin = "chrony's default (authselectmode mix)";
            }

            Input.ServesNtp = _access.HasAllowRules && _port != 0;
            Input.ServesEveryone = Input.ServesNtp && AnswersEveryone(_access);
        }

        private static string Single(string[] a) =>
            a.Length == 1 ? a[0] : throw new FormatException(a.Length == 0 ? "missing argument" : $"expected one argument, got {a.Length}");

        private void Source(AuditSourceKind kind, string[] a)
        {
            if (a.Length == 0)
            {
                throw new FormatException("missing host name");
            }

            int port = 123, ntsPort = 4460, certSet = 0, maxSources = 4;
            uint? key = null;
            bool nts = false;
            SourceSelectOptions options = SourceSelectOptions.None;
            for (int i = 1; i < a.Length; i++)
            {
                switch (a[i])
                {
                    case "port": port = Int(Next(a, ref i), 0, 65535, "port"); break;
                    case "ntsport": ntsPort = Int(Next(a, ref i), 1, 65535, "ntsport"); break;
                    case "certset": certSet = Int(Next(a, ref i), 0, int.MaxValue, "certset"); break;
                    case "key": key = KeyId(Next(a, ref i)); break;
                    case "maxsources": maxSources = Int(Next(a, ref i), 1, 16, "maxsources"); break;
                    case "nts": nts = true; break;
                    case "prefer": options |= SourceSelectOptions.Prefer; break;
                    case "noselect": options |= SourceSelectOptions.NoSelect; break;
                    case "trust": options |= SourceSelectOptions.Trust; break;
                    case "require": options |= SourceSelectOptions.Require; break;
                    default:
                        if (s_valueOptions.Contains(a[i]))
                        {
                            Next(a, ref i);
                        }

                        break;
                }
            }

            Input.Sources.Add(new AuditSource
            {
                Kind = kind,
                Host = a[0],
                Port = port,
                Nts = nts,
                NtsPort = ntsPort,
                CertSet = certSet,
                KeyId = key,
                Options = options,
                MaxSources = kind == AuditSourceKind.Pool ? maxSources : 1,
                FileName = CurrentFile,
                Line = CurrentLine,
            });
        }

        private void Refclock(string[] a)
        {
            if (a.Length < 2)
            {
                throw new FormatException("expected DRIVER PARAMETER [options]");
            }

            SourceSelectOptions options = SourceSelectOptions.None;
            for (int i = 2; i < a.Length; i++)
            {
                options |= a[i] switch
                {
                    "prefer" => SourceSelectOptions.Prefer,
                    "noselect" => SourceSelectOptions.NoSelect,
                    "trust" => SourceSelectOptions.Trust,
                    "require" => SourceSelectOptions.Require,
                    _ => SourceSelectOptions.None,
                };
            }

            Input.Sources.Add(new AuditSource { Kind = AuditSourceKind.Refclock, Host = $"{a[0]} {a[1]}", Options = options, MaxSources = 1, FileName = CurrentFile, Line = CurrentLine });
        }

        private void TrustedCerts(string[] a)
        {
            if (a.Length is < 1 or > 2)
            {
                throw new FormatException("expected [SET] FILE|DIRECTORY");
            }

            int set = a.Length == 2 ? Int(a[0], 0, int.MaxValue, "certificate set") : 0;
            if (!Input.NtsTrustedCertificates.TryGetValue(set, out List<string>? paths))
            {
                paths = new List<string>();
                Input.NtsTrustedCertificates[set] = paths;
            }

            paths.Add(Resolve(a[^1]));
        }

        private void Access(bool allow, string[] a)
        {
            bool all = a.Length > 0 && a[0] == "all";
            string[] rest = all ? a[1..] : a;
            if (rest.Length > 1)
            {
                throw new FormatException($"expected [all] [SUBNET], got '{string.Join(' ', a)}'");
            }

            IPNetwork? network = null;
            if (rest.Length == 1)
            {
                network = AccessRules.TryParseSubnet(rest[0], out string? error) ?? throw new FormatException(error);
            }

            _access.Add(allow, all, network);
        }
    }

    private sealed class NtpReader(string fileName) : LenientReader(fileName, ConfigDialect.Ntp)
    {
        private static readonly HashSet<string> s_valueOptions = new(StringComparer.Ordinal)
        {
            "key", "minpoll", "maxpoll", "version", "mode", "ttl", "bias", "ca", "cert", "aead", "refid", "stratum", "time1", "time2",
            "subtype", "path", "ppspath", "baud", "holdover", "mintls", "maxtls", "tlsciphers", "tlsciphersuites",
        };

        private readonly Dictionary<string, HashSet<string>> _restrictByHost = new(StringComparer.OrdinalIgnoreCase);
        private HashSet<string>? _restrictDefault4;
        private HashSet<string>? _restrictDefault6;
        private HashSet<string>? _restrictSource;
        private double _stepThreshold = 0.128;

        protected override char InlineComment => '#';

        protected override void Directive(string name, string[] a)
        {
            switch (name)
            {
                case "server":
                case "pool":
                case "peer":
                    Source(name == "pool" ? AuditSourceKind.Pool : name == "peer" ? AuditSourceKind.Peer : AuditSourceKind.Server, a);
                    break;
                case "refclock":
                    Input.Sources.Add(new AuditSource { Kind = AuditSourceKind.Refclock, Host = a.Length > 0 ? a[0] : "refclock", MaxSources = 1, FileName = CurrentFile, Line = CurrentLine, Options = Flags(a) });
                    break;
                case "keys":
                    Input.KeyFile = a.Length >= 1 ? Resolve(a[0]) : throw new FormatException("missing key file name");
                    break;
                case "trustedkey":
                    AddTrustedKeys(a);
                    break;
                case "restrict":
                    Restrict(a);
                    break;
                case "tinker":
                    for (int i = 0; i + 1 < a.Length; i += 2)
                    {
                        if (a[i] == "step")
                        {
                            _stepThreshold = double.TryParse(a[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out double step)
                                ? step
                                : throw new FormatException($"bad step threshold '{a[i + 1]}'");
                        }
                    }

                    break;
                case "nts":
                    Nts(a);
                    break;
                case "includefile":
                    Include(a.Length >= 1 ? a[0] : throw new FormatException("missing file name"));
                    break;
            }
        }

        protected override void Finish()
        {
            // ntpd steps offsets over 128 ms unless told otherwise (tinker step 0).
            Input.MakeStep = _stepThreshold != 0;
            bool defaultNotrust = Has(_restrictDefault4, "notrust") && Has(_restrictDefault6, "notrust");
            Input.AuthSelectMode = defaultNotrust ? AuthSelectMode.Require : AuthSelectMode.Ignore;
            Input.AuthSelectModeOrigin = defaultNotrust
                ? "ntpd's 'restrict default notrust' (unauthenticated servers are not believed)"
                : "ntpd (no authselectmode: a configured server steers unless a 'restrict ... notrust' line covers it)";
            for (int i = 0; i < Input.Sources.Count; i++)
            {
                AuditSource source = Input.Sources[i];
                HashSet<string>? flags = _restrictByHost.TryGetValue(source.Host, out HashSet<string>? own) ? own
                    : _restrictSource ?? (source.Host.Contains(':', StringComparison.Ordinal) ? _restrictDefault6 : _restrictDefault4);
                Input.Sources[i] = source with { AuthenticationRequired = Has(flags, "notrust") };
            }

            bool closed4 = Has(_restrictDefault4, "ignore") || Has(_restrictDefault4, "noserve");
            bool closed6 = Has(_restrictDefault6, "ignore") || Has(_restrictDefault6, "noserve");
            Input.ServesNtp = !(closed4 && closed6);
            Input.ServesEveryone = Input.ServesNtp;
            Input.RateLimit = (closed4 || Has(_restrictDefault4, "limited")) && (closed6 || Has(_restrictDefault6, "limited"));
        }

        private static bool Has(HashSet<string>? flags, string flag) => flags is not null && flags.Contains(flag);

        private static SourceSelectOptions Flags(string[] a)
        {
            SourceSelectOptions options = SourceSelectOptions.None;
            foreach (string word in a)
            {
                options |= word switch
                {
                    "prefer" => SourceSelectOptions.Prefer,
                    "noselect" => SourceSelectOptions.NoSelect,
                    "true" => SourceSelectOptions.Trust,
                    _ => SourceSelectOptions.None,
                };
            }

            return options;
        }

        private void Source(AuditSourceKind kind, string[] a)
        {
            int start = 0;
            while (start < a.Length && a[start] is "-4" or "-6")
            {
                start++;
            }

            if (start >= a.Length)
            {
                throw new FormatException("missing host name");
            }

            string host = a[start];
            uint? key = null;
            bool nts = false, noval = false;
            string? ca = null;
            for (int i = start + 1; i < a.Length; i++)
            {
                switch (a[i])
                {
                    case "key": key = KeyId(Next(a, ref i)); break;
                    case "nts": nts = true; break;
                    case "noval": noval = true; break;
                    case "ca": ca = Resolve(Next(a, ref i)); break;
                    default:
                        if (s_valueOptions.Contains(a[i]))
                        {
                            Next(a, ref i);
                        }

                        break;
                }
            }

            // NTPsec: an NTS server may be written name:port for a non-standard NTS-KE port.
            int ntsPort = 4460;
            if (nts && SplitPort(host, out string name, out int port))
            {
                host = name;
                ntsPort = port;
            }

            bool refclock = host.StartsWith("127.127.", StringComparison.Ordinal);
            Input.Sources.Add(new AuditSource
            {
                Kind = refclock ? AuditSourceKind.Refclock : kind,
                Host = host,
                Nts = nts,
                NtsPort = ntsPort,
                NoCertificateValidation = noval,
                CaFile = ca,
                KeyId = key,
                Options = Flags(a[(start + 1)..]),
                MaxSources = kind == AuditSourceKind.Pool ? 4 : 1,
                FileName = CurrentFile,
                Line = CurrentLine,
            });
        }

        private static bool SplitPort(string host, out string name, out int port)
        {
            name = host;
            port = 0;
            int colon = host.LastIndexOf(':');
            bool bracketed = host.StartsWith('[');
            if (colon <= 0 || (!bracketed && host.IndexOf(':', StringComparison.Ordinal) != colon) || (bracketed && host[colon - 1] != ']'))
            {
                return false;
            }

            if (!int.TryParse(host.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                throw new FormatException($"bad port in '{host}'");
            }

            name = host[..colon].Trim('[', ']');
            return true;
        }

        private void Restrict(string[] a)
        {
            int i = 0;
            bool? v6 = null;
            if (i < a.Length && a[i] is "-4" or "-6")
            {
                v6 = a[i] == "-6";
                i++;
            }

            if (i >= a.Length)
            {
                throw new FormatException("missing address");
            }

            string target = a[i++];
            var flags = new HashSet<string>(StringComparer.Ordinal);
            for (; i < a.Length; i++)
            {
                if (a[i] == "mask")
                {
                    i++;
                    continue;
                }

                flags.Add(a[i]);
            }

            switch (target)
            {
                case "default":
                    if (v6 != true)
                    {
                        _restrictDefault4 = flags;
                    }

                    if (v6 != false)
                    {
                        _restrictDefault6 = flags;
                    }

                    break;
                case "source":
                    _restrictSource = flags;
                    break;
                default:
                    _restrictByHost[target] = flags;
                    break;
            }
        }

        private void Nts(string[] a)
        {
            if (a.Length == 0)
            {
                throw new FormatException("missing NTS subcommand");
            }

            switch (a[0])
            {
                case "ca" when a.Length >= 2:
                    if (!Input.NtsTrustedCertificates.TryGetValue(0, out List<string>? paths))
                    {
                        paths = new List<string>();
                        Input.NtsTrustedCertificates[0] = paths;
                    }

                    paths.Add(Resolve(a[1]));
                    break;
            }
        }
    }
}
