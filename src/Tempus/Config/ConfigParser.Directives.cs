using System.Net;
using System.Net.Sockets;
using Tempus.Selection;

namespace Tempus.Config;

public static partial class ConfigParser
{
    /// <summary>The <c>log</c> kinds chrony knows.</summary>
    private static readonly string[] s_logKinds =
        ["measurements", "rawmeasurements", "refclocks", "rtc", "selection", "statistics", "tempcomp", "tracking"];

    /// <summary>chrony's largest effective <c>clientloglimit</c> (2 GiB, 16777216 addresses).</summary>
    private const long MaxClientLogLimit = 2147483648;

    private static void ParseDriftFile(TempusConfiguration config, Directive d)
    {
        // chrony: driftfile FILE [interval SECONDS]
        d.ExpectArguments(1, 3);
        string path = d.ResolvePath(d.Arguments[0]);
        if (d.Arguments.Length > 1)
        {
            if (d.Arguments.Length != 3 || !d.Arguments[1].Equals("interval", StringComparison.OrdinalIgnoreCase))
            {
                throw new DirectiveException($"expected FILE [interval SECONDS], got '{Printable(string.Join(' ', d.Arguments))}'");
            }

            Directive.ParseInt(d.Arguments[2], 0, int.MaxValue, "interval");
            d.Warn("ignored option interval: Tempus writes the drift file at most once an hour and at exit");
        }

        config.Discipline = config.Discipline with { DriftFile = path };
    }

    private static void ParseMakeStep(TempusConfiguration config, Directive d)
    {
        // chrony: makestep THRESHOLD LIMIT; a negative limit steps at any update.
        d.ExpectArguments(2, 2);
        double threshold = Directive.ParseDouble(d.Arguments[0], 0, double.MaxValue, "threshold");
        int limit = Directive.ParseInt(d.Arguments[1], int.MinValue, int.MaxValue, "limit");
        config.Discipline = config.Discipline with { MakeStepThreshold = threshold, MakeStepLimit = Math.Max(limit, -1) };
    }

    private static void ParseMaxChange(TempusConfiguration config, Directive d)
    {
        // chrony: maxchange OFFSET START IGNORE; a negative IGNORE never gives up.
        d.ExpectArguments(3, 3);
        double offset = Directive.ParsePositiveDouble(d.Arguments[0], "offset");
        int start = Directive.ParseInt(d.Arguments[1], 0, int.MaxValue, "start");
        int ignore = Directive.ParseInt(d.Arguments[2], int.MinValue, int.MaxValue, "ignore count");
        config.Discipline = config.Discipline with { MaxChangeOffset = offset, MaxChangeStart = start, MaxChangeIgnore = Math.Max(ignore, -1) };
    }

    private static void ParseLeapSecMode(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, 1);
        switch (d.Arguments[0].ToLowerInvariant())
        {
            case "system":
                config.Discipline = config.Discipline with { ApplyLeapSeconds = true };
                break;
            case "ignore":
                config.Discipline = config.Discipline with { ApplyLeapSeconds = false };
                break;
            case "step" or "slew":
                d.Warn($"ignored: Tempus does not implement leapsecmode {d.Arguments[0].ToLowerInvariant()}; the kernel inserts or deletes the leap second (mode system)");
                config.Discipline = config.Discipline with { ApplyLeapSeconds = true };
                break;
            default:
                throw new DirectiveException($"unknown mode '{Printable(d.Arguments[0])}' (expected system, step, slew or ignore)");
        }
    }

    private static void ParseAuthSelectMode(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, 1);
        AuthSelectMode mode = d.Arguments[0].ToLowerInvariant() switch
        {
            "require" => AuthSelectMode.Require,
            "prefer" => AuthSelectMode.Prefer,
            "mix" => AuthSelectMode.Mix,
            "ignore" => AuthSelectMode.Ignore,
            _ => throw new DirectiveException($"unknown mode '{Printable(d.Arguments[0])}' (expected require, prefer, mix or ignore)"),
        };
        config.Selection = config.Selection with { AuthSelectMode = mode };
    }

    private static void ParseCommandPort(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, 1);
        config.CommandPort = Directive.ParseInt(d.Arguments[0], 0, 65535, "port");
        if (config.CommandPort != 0)
        {
            d.Warn($"Tempus has no UDP command port: port {config.CommandPort} stays closed; tempusctl talks to the Unix socket (bindcmdaddress)");
        }
    }

    private static void ParseBindCommandAddress(TempusConfiguration config, Directive d)
    {
        // chrony: an IP address binds the UDP command socket; a path moves the Unix socket; '/' disables it.
        d.ExpectArguments(1, 1);
        string value = d.Arguments[0];
        if (value == "/")
        {
            config.CommandSocketPath = null;
        }
        else if (value.StartsWith('/'))
        {
            if (value.EndsWith('/'))
            {
                throw new DirectiveException($"'{Printable(value)}' names a directory: give the socket's file name");
            }

            config.CommandSocketPath = Path.GetFullPath(value);
        }
        else if (IPAddress.TryParse(value, out _))
        {
            d.Warn($"ignored address {Printable(value)}: Tempus has no UDP command port, only the Unix socket");
        }
        else
        {
            throw new DirectiveException($"'{Printable(value)}' is neither an absolute socket path nor an IP address");
        }
    }

    private static void ParseLog(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, int.MaxValue);
        foreach (string argument in d.Arguments)
        {
            string kind = argument.ToLowerInvariant();
            if (Array.IndexOf(s_logKinds, kind) < 0)
            {
                d.Error($"unknown log '{Printable(argument)}' (expected {string.Join(", ", s_logKinds)})");
                continue;
            }

            config.LogKinds.Add(kind);
        }
    }

    private static RateLimitOptions ParseRateLimit(Directive d, RateLimitOptions options, bool allowKod)
    {
        // chrony: ratelimit [interval N] [burst N] [leak N] [kod N], in any order; ntsratelimit has no kod.
        for (int i = 0; i < d.Arguments.Length; i++)
        {
            options = d.Arguments[i].ToLowerInvariant() switch
            {
                "interval" => options with { IntervalLog2 = Directive.ParseInt(d.NextArgument(ref i), -19, 12, "interval") },
                "burst" => options with { Burst = Directive.ParseInt(d.NextArgument(ref i), 1, 255, "burst") },
                "leak" => options with { Leak = Directive.ParseInt(d.NextArgument(ref i), 1, 4, "leak") },
                "kod" when allowKod => options with { Kod = Directive.ParseInt(d.NextArgument(ref i), 0, 4, "kod") },
                _ => throw new DirectiveException($"unknown option '{Printable(d.Arguments[i])}' (expected interval, burst, leak{(allowKod ? ", kod" : "")})"),
            };
        }

        return options;
    }

    private static void ParseClientLogLimit(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, 1);
        long limit = Directive.ParseUInt(d.Arguments[0], "limit");
        if (limit > MaxClientLogLimit)
        {
            d.Warn($"limit {limit} is more than the largest effective value {MaxClientLogLimit}: using {MaxClientLogLimit}");
            limit = MaxClientLogLimit;
        }

        config.ClientLogLimit = limit;
    }

    private static void ParseMetricsAddress(TempusConfiguration config, Directive d)
    {
        // IPv4 127.0.0.1:9123 or IPv6 [::1]:9123, as in a URL.
        d.ExpectArguments(1, 1);
        string value = d.Arguments[0];
        string addressPart;
        string portPart;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                throw new DirectiveException($"'{Printable(value)}' is not ADDRESS:PORT (IPv6: [ADDRESS]:PORT)");
            }

            addressPart = value[1..close];
            portPart = value[(close + 2)..];
            if (!IPAddress.TryParse(addressPart, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw new DirectiveException($"'{Printable(addressPart)}' is not an IPv6 address");
            }
        }
        else
        {
            int colon = value.LastIndexOf(':');
            if (colon < 0 || value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                throw new DirectiveException($"'{Printable(value)}' is not ADDRESS:PORT (write IPv6 addresses as [ADDRESS]:PORT)");
            }

            addressPart = value[..colon];
            portPart = value[(colon + 1)..];
            if (!IPAddress.TryParse(addressPart, out IPAddress? v4) || v4.AddressFamily != AddressFamily.InterNetwork || addressPart.Count(c => c == '.') != 3)
            {
                throw new DirectiveException($"'{Printable(addressPart)}' is not an IPv4 address");
            }
        }

        int port = Directive.ParseInt(portPart, 1, 65535, "port");
        config.MetricsAddress = new IPEndPoint(IPAddress.Parse(addressPart), port);
    }

    private static void ParseUser(TempusConfiguration config, Directive d)
    {
        d.ExpectArguments(1, 1);
        string name = d.Arguments[0];

        // The portable user name set of POSIX (3.437), plus a trailing '$' some systems allow; at most 32 (useradd).
        bool valid = name.Length is > 0 and <= 32 && name[0] != '-'
            && name.Select((ch, i) => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-' || (ch == '$' && i == name.Length - 1)).All(ok => ok);
        if (!valid)
        {
            throw new DirectiveException($"'{Printable(name)}' is not a valid user name");
        }

        config.User = name;
    }

    private static void ParseInclude(TempusConfiguration config, Directive d)
    {
        // chrony: include PATTERN (glob). Tempus allows * and ? in the file name only; a pattern without
        // wildcards names one file, which must exist.
        d.ExpectArguments(1, 1);
        string pattern = d.ResolvePath(d.Arguments[0]);
        string directory = Path.GetDirectoryName(pattern) ?? "/";
        string namePattern = Path.GetFileName(pattern);
        if (directory.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            throw new DirectiveException($"'{Printable(d.Arguments[0])}': wildcards are allowed only in the file name, not in directories");
        }

        if (namePattern.AsSpan().IndexOfAny('*', '?') < 0)
        {
            d.Reader.IncludeFile(pattern, FileKind.Configuration, d.FileName, d.Line, d.Name);
            return;
        }

        List<string> names = d.Reader.ListMatching(directory, name => WildcardMatch(namePattern, name), d.FileName, d.Line, d.Name, missingIsError: false);
        if (names.Count == 0)
        {
            d.Warn($"no file matches '{PrintablePath(pattern)}'");
        }

        foreach (string name in names)
        {
            d.Reader.IncludeFile(Path.Combine(directory, name), FileKind.Configuration, d.FileName, d.Line, d.Name);
        }
    }

    private static void ParseConfDir(TempusConfiguration config, Directive d)
    {
        // chrony: the *.conf files of all the directories, sorted by file name; for equal names the directory
        // named first wins, which lets a later directory's fragment be overridden by adding one to an earlier.
        string[] directories = ExpectDirectories(d);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string directory in directories)
        {
            foreach (string name in d.Reader.ListDirectory(directory, ".conf", d.FileName, d.Line, d.Name))
            {
                files.TryAdd(name, Path.Combine(directory, name));
            }
        }

        foreach (string path in files.Values)
        {
            d.Reader.IncludeFile(path, FileKind.Configuration, d.FileName, d.Line, d.Name);
        }
    }

    private static void ParseSourceDir(TempusConfiguration config, Directive d)
    {
        // Read after the whole configuration, like chrony (see ConfigReader.ReadSourceDirectories).
        foreach (string directory in ExpectDirectories(d))
        {
            d.Reader.AddSourceDirectory(directory, d.FileName, d.Line);
        }
    }

    private static string[] ExpectDirectories(Directive d)
    {
        if (d.Arguments.Length == 0)
        {
            throw new DirectiveException("missing directory");
        }

        if (d.Arguments.Length > MaxDirectoriesPerDirective)
        {
            throw new DirectiveException($"{d.Arguments.Length} directories, more than {MaxDirectoriesPerDirective} (use the directive twice)");
        }

        return d.Arguments.Select(d.ResolvePath).ToArray();
    }

    /// <summary>glob(3) matching of one file name with <c>*</c> and <c>?</c> (no brackets), iterative with backtracking.</summary>
    private static bool WildcardMatch(string pattern, string name)
    {
        int p = 0;
        int n = 0;
        int starP = -1;
        int starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starN = n;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                n = ++starN;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
