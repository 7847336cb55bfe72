using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Tempus.Selection;
using Tempus.Sources;

namespace Tempus.Config;

public static partial class ConfigParser
{
    /// <summary>The option names of server and pool, for "did you mean".</summary>
    private static readonly string[] s_sourceOptions =
    [
        "asymmetry", "auto_offline", "burst", "certset", "copy", "extfield", "filter", "iburst", "ipv4", "ipv6", "key",
        "maxdelay", "maxdelaydevratio", "maxdelayquant", "maxdelayratio", "maxpoll", "maxsamples", "maxsources", "maxunreach",
        "mindelay", "minpoll", "minsamples", "minstratum", "noselect", "nts", "ntsport", "offline", "offset", "polltarget",
        "port", "prefer", "presend", "require", "trust", "version", "xleave",
    ];

    /// <summary>Longest host name (RFC 1035 §2.3.4: 255 octets on the wire, 253 characters written out).</summary>
    private const int MaxHostNameLength = 253;

    /// <summary>
    /// <c>server HOST [option]...</c> and <c>pool NAME [option]...</c> with chrony's option names, defaults and
    /// ranges. Every bad option of the line is reported, and a line with any error adds no source.
    /// </summary>
    private static void ParseSource(TempusConfiguration config, Directive d, SourceKind kind)
    {
        if (d.Arguments.Length == 0)
        {
            throw new DirectiveException(kind == SourceKind.Pool ? "missing pool name" : "missing host name");
        }

        string host = d.Arguments[0];
        bool failed = false;
        if (CheckHost(host) is { } hostProblem)
        {
            d.Error(hostProblem);
            failed = true;
        }

        var source = new SourceDefinition { Kind = kind, Host = host, FileName = d.FileName, Line = d.Line };
        bool minPollGiven = false;
        bool maxPollGiven = false;
        var ignored = new List<string>();
        for (int i = 1; i < d.Arguments.Length; i++)
        {
            string option = d.Arguments[i].ToLowerInvariant();
            try
            {
                switch (option)
                {
                    case "iburst":
                        source = source with { IBurst = true };
                        break;
                    case "nts":
                        source = source with { Nts = true };
                        break;
                    case "ntsport":
                        source = source with { NtsPort = Directive.ParseInt(d.NextArgument(ref i), 1, 65535, "ntsport") };
                        break;
                    case "certset":
                        source = source with { CertSet = Directive.ParseInt(d.NextArgument(ref i), 0, int.MaxValue, "certset") };
                        break;
                    case "key":
                        uint key = Directive.ParseUInt(d.NextArgument(ref i), "key id");
                        if (key == 0)
                        {
                            throw new DirectiveException("key id 0 out of range 1-4294967295");
                        }

                        source = source with { KeyId = key };
                        break;
                    case "minpoll":
                        source = source with { MinPoll = Directive.ParseInt(d.NextArgument(ref i), SourceDefinition.LowestPoll, SourceDefinition.HighestPoll, "minpoll") };
                        minPollGiven = true;
                        break;
                    case "maxpoll":
                        source = source with { MaxPoll = Directive.ParseInt(d.NextArgument(ref i), SourceDefinition.LowestPoll, SourceDefinition.HighestPoll, "maxpoll") };
                        maxPollGiven = true;
                        break;
                    case "prefer":
                        source = source with { SelectOptions = source.SelectOptions | SourceSelectOptions.Prefer };
                        break;
                    case "noselect":
                        source = source with { SelectOptions = source.SelectOptions | SourceSelectOptions.NoSelect };
                        break;
                    case "trust":
                        source = source with { SelectOptions = source.SelectOptions | SourceSelectOptions.Trust };
                        break;
                    case "require":
                        source = source with { SelectOptions = source.SelectOptions | SourceSelectOptions.Require };
                        break;
                    case "maxdelay":
                        double maxDelay = Directive.ParseDouble(d.NextArgument(ref i), 0, 1000, "maxdelay");
                        if (maxDelay == 0)
                        {
                            throw new DirectiveException("maxdelay 0 out of range: must be larger than 0 (and at most 1000 s)");
                        }

                        source = source with { MaxDelay = maxDelay };
                        break;
                    case "port":
                        source = source with { Port = Directive.ParseInt(d.NextArgument(ref i), 1, 65535, "port") };
                        break;
                    case "version":
                        source = source with { Version = Directive.ParseInt(d.NextArgument(ref i), 1, 4, "version") };
                        break;
                    case "maxsources":
                        int maxSources = Directive.ParseInt(d.NextArgument(ref i), 1, 16, "maxsources");
                        if (kind != SourceKind.Pool)
                        {
                            throw new DirectiveException("maxsources is an option of pool, not of server");
                        }

                        source = source with { MaxSources = maxSources };
                        break;

                    // chrony options Tempus reads (so their values are still checked) and does not implement.
                    case "burst" or "offline" or "auto_offline" or "xleave" or "copy" or "ipv4" or "ipv6":
                        ignored.Add(option);
                        break;
                    case "presend":
                        Directive.ParseInt(d.NextArgument(ref i), SourceDefinition.LowestPoll, SourceDefinition.HighestPoll, option);
                        ignored.Add(option);
                        break;
                    case "minstratum":
                        Directive.ParseInt(d.NextArgument(ref i), 0, 15, option);
                        ignored.Add(option);
                        break;
                    case "polltarget" or "filter" or "maxsamples" or "minsamples" or "maxunreach":
                        Directive.ParseInt(d.NextArgument(ref i), 0, int.MaxValue, option);
                        ignored.Add(option);
                        break;
                    case "maxdelayratio" or "maxdelaydevratio" or "mindelay" or "maxdelayquant":
                        Directive.ParseDouble(d.NextArgument(ref i), 0, double.MaxValue, option);
                        ignored.Add(option);
                        break;
                    case "asymmetry":
                        Directive.ParseDouble(d.NextArgument(ref i), -0.5, 0.5, option);
                        ignored.Add(option);
                        break;
                    case "offset":
                        Directive.ParseDouble(d.NextArgument(ref i), double.MinValue, double.MaxValue, option);
                        ignored.Add(option);
                        break;
                    case "extfield":
                        string field = d.NextArgument(ref i);
                        if (!uint.TryParse(field, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint type) || type > 0xffff)
                        {
                            throw new DirectiveException($"bad extfield '{Printable(field)}': not a hexadecimal extension field type");
                        }

                        ignored.Add(option);
                        break;
                    default:
                        throw new DirectiveException($"unknown option '{Printable(d.Arguments[i])}'{Suggest(option, s_sourceOptions)}");
                }
            }
            catch (DirectiveException e)
            {
                d.Error(e.Message);
                failed = true;
            }
        }

        if (source.Nts && source.KeyId is not null)
        {
            d.Error("nts and key cannot be used together: a source is authenticated either with NTS or with a symmetric key");
            failed = true;
        }

        if (source.MinPoll > source.MaxPoll)
        {
            if (minPollGiven && maxPollGiven)
            {
                d.Error($"minpoll {source.MinPoll} is larger than maxpoll {source.MaxPoll}");
                failed = true;
            }
            else
            {
                // chrony raises maxpoll to minpoll: 'minpoll 12' alone polls every 4096 s.
                if (maxPollGiven)
                {
                    d.Warn($"maxpoll {source.MaxPoll} is below the default minpoll {source.MinPoll}: maxpoll raised to {source.MinPoll}, as chrony does (give minpoll too)");
                }

                source = source with { MaxPoll = source.MinPoll };
            }
        }

        if (ignored.Count > 0)
        {
            d.Warn($"{Printable(host, MaxHostNameLength)}: ignored option{(ignored.Count > 1 ? "s" : "")} {string.Join(", ", ignored.Distinct())}: Tempus does not implement {(ignored.Count > 1 ? "them" : "it")}");
        }

        if (!failed)
        {
            config.Sources.Add(source);
        }
    }

    /// <summary>Null when <paramref name="host"/> is an IP literal or a plausible DNS name, else why not.</summary>
    private static string? CheckHost(string host)
    {
        if (host.Length > MaxHostNameLength)
        {
            return $"host name is {host.Length} characters long, more than {MaxHostNameLength}";
        }

        if (host.Contains(':', StringComparison.Ordinal) || host.StartsWith('['))
        {
            if (host.StartsWith('['))
            {
                return $"'{Printable(host, MaxHostNameLength)}': write an IPv6 address without brackets (use the port option for the port)";
            }

            return IPAddress.TryParse(host, out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6
                ? null
                : $"'{Printable(host, MaxHostNameLength)}' is not a valid IPv6 address or host name";
        }

        string name = host.EndsWith('.') && host.Length > 1 ? host[..^1] : host;
        string[] labels = name.Split('.');
        bool numeric = true;
        foreach (string label in labels)
        {
            if (label.Length is 0 or > 63)
            {
                return $"'{Printable(host, MaxHostNameLength)}' is not a valid host name (a dot-separated label is empty or longer than 63 characters)";
            }

            foreach (char ch in label)
            {
                if (!(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
                {
                    return $"'{Printable(host, MaxHostNameLength)}' is not a valid host name or IP address (character '{Printable(ch.ToString())}')";
                }
            }

            if (label[0] == '-' || label[^1] == '-')
            {
                return $"'{Printable(host, MaxHostNameLength)}' is not a valid host name (a label starts or ends with '-')";
            }

            numeric &= label.All(char.IsAsciiDigit);
        }

        // All-numeric names are addresses to the resolver (inet_aton): 1.2.3.999 is a typo, not a host.
        if (numeric && (labels.Length != 4 || labels.Any(l => l.Length > 3 || int.Parse(l, CultureInfo.InvariantCulture) > 255)))
        {
            return $"'{Printable(host, MaxHostNameLength)}' is not a valid IPv4 address";
        }

        return null;
    }

    /// <summary>
    /// The same server or pool given twice (chrony would use the address once and leave the other idle): a warning
    /// at the second line, naming the first.
    /// </summary>
    private static void CheckDuplicateSources(ConfigReader reader, IEnumerable<SourceDefinition> sources)
    {
        var seen = new Dictionary<(SourceKind, string, int), SourceDefinition>();
        foreach (SourceDefinition source in sources)
        {
            if (!seen.TryAdd((source.Kind, source.Host.ToLowerInvariant(), source.Port), source))
            {
                SourceDefinition first = seen[(source.Kind, source.Host.ToLowerInvariant(), source.Port)];
                string directive = source.Kind == SourceKind.Pool ? "pool" : "server";
                reader.Warn(source.FileName, source.Line, $"{directive} {Printable(source.Host, MaxHostNameLength)} is already configured at {first.FileName}:{first.Line}; only one of them will be used");
            }
        }
    }

    /// <summary>Checks the sources against the rest of the configuration: key file, trusted keys, certificate sets.</summary>
    private static void CheckSources(ConfigReader reader, TempusConfiguration config, IEnumerable<SourceDefinition> sources)
    {
        foreach (SourceDefinition source in sources)
        {
            string directive = source.Kind == SourceKind.Pool ? "pool" : "server";
            string where = $"{directive} {Printable(source.Host, MaxHostNameLength)}";
            if (source.KeyId is uint key && config.KeyFile is null)
            {
                reader.Error(source.FileName, source.Line, $"{where}: key {key} but no keyfile is configured: add 'keyfile FILE' holding key {key}");
            }
            else if (source.KeyId is uint trustedKey && config.TrustedKeys is { } trusted && !trusted.Contains(trustedKey))
            {
                reader.Error(source.FileName, source.Line, $"{where}: key {trustedKey} is not a trustedkey: add it to trustedkey, or use a trusted key");
            }

            bool setDefined = config.NtsTrustedCertificates.ContainsKey(source.CertSet);
            if (source.CertSet != 0 && !setDefined)
            {
                reader.Error(source.FileName, source.Line, $"{where}: certset {source.CertSet} is not defined: add 'ntstrustedcerts {source.CertSet} FILE|DIR'");
            }
            else if (source.Nts && source.CertSet == 0 && config.NoSystemCertificates && !setDefined)
            {
                reader.Error(source.FileName, source.Line, $"{where}: no CA trusted for certset 0: nosystemcert removes the system CAs, so add 'ntstrustedcerts FILE|DIR'");
            }
        }
    }

    /// <summary>A <c>minsources</c> no configuration can reach leaves the clock free-running forever: warn.</summary>
    private static void CheckMinSources(ConfigReader reader, TempusConfiguration config)
    {
        int possible = config.Sources
            .Where(s => (s.SelectOptions & SourceSelectOptions.NoSelect) == 0)
            .Sum(s => s.Kind == SourceKind.Pool ? s.MaxSources : 1);
        if (reader.MinSourcesSite is (string file, int line) && config.Selection.MinSources > possible)
        {
            reader.Warn(file, line, $"minsources {config.Selection.MinSources} is more than the {possible} selectable source{(possible == 1 ? "" : "s")} configured: the clock will never be updated");
        }
    }
}
