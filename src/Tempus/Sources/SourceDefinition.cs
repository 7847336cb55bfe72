using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>Whether a configured source is one server or a pool of them.</summary>
public enum SourceKind
{
    /// <summary><c>server HOST</c>: one address (the first the name resolves to).</summary>
    Server = 0,

    /// <summary><c>pool NAME</c>: up to <see cref="SourceDefinition.MaxSources"/> of the addresses the name resolves to.</summary>
    Pool = 1,
}

/// <summary>
/// One <c>server</c> or <c>pool</c> line of the configuration, with chrony's defaults and option names.
/// </summary>
public sealed record SourceDefinition
{
    /// <summary>chrony's default minpoll (64 s).</summary>
    public const int DefaultMinPoll = 6;

    /// <summary>chrony's default maxpoll (1024 s).</summary>
    public const int DefaultMaxPoll = 10;

    /// <summary>Lowest poll exponent accepted (1/16 s, chrony's limit).</summary>
    public const int LowestPoll = -6;

    /// <summary>Highest poll exponent accepted (36 h, chrony's limit).</summary>
    public const int HighestPoll = 24;

    /// <summary>Server or pool.</summary>
    public required SourceKind Kind { get; init; }

    /// <summary>The host name or address as written.</summary>
    public required string Host { get; init; }

    /// <summary>UDP port of the NTP server (<c>port</c>).</summary>
    public int Port { get; init; } = 123;

    /// <summary><c>iburst</c>: four requests two seconds apart at start, for a fast first synchronization.</summary>
    public bool IBurst { get; init; }

    /// <summary><c>nts</c>: authenticate with NTS (RFC 8915).</summary>
    public bool Nts { get; init; }

    /// <summary>TCP port of the NTS-KE server (<c>ntsport</c>).</summary>
    public int NtsPort { get; init; } = 4460;

    /// <summary>Trusted certificate set (<c>certset</c>, see <c>ntstrustedcerts</c>); 0 is the default set.</summary>
    public int CertSet { get; init; }

    /// <summary>Symmetric key id (<c>key</c>); null for none.</summary>
    public uint? KeyId { get; init; }

    /// <summary>Lowest poll exponent (<c>minpoll</c>), log2 seconds.</summary>
    public int MinPoll { get; init; } = DefaultMinPoll;

    /// <summary>Highest poll exponent (<c>maxpoll</c>), log2 seconds.</summary>
    public int MaxPoll { get; init; } = DefaultMaxPoll;

    /// <summary><c>prefer</c>, <c>noselect</c>, <c>trust</c>, <c>require</c>.</summary>
    public SourceSelectOptions SelectOptions { get; init; }

    /// <summary><c>maxdelay</c>: measurements with a larger round-trip delay, in seconds, are ignored.</summary>
    public double MaxDelay { get; init; } = 3.0;

    /// <summary>NTP version of the requests (<c>version</c>), 1 to 4.</summary>
    public int Version { get; init; } = 4;

    /// <summary>For a pool, how many of its addresses are used at once (<c>maxsources</c>, chrony's default 4).</summary>
    public int MaxSources { get; init; } = 4;

    /// <summary>The file the line came from, for messages and the audit.</summary>
    public string FileName { get; init; } = "";

    /// <summary>The 1-based line number in <see cref="FileName"/>.</summary>
    public int Line { get; init; }

    /// <summary>How the source's responses are authenticated.</summary>
    public SourceAuthentication Authentication =>
        Nts ? SourceAuthentication.Nts : KeyId is not null ? SourceAuthentication.SymmetricKey : SourceAuthentication.None;
}
