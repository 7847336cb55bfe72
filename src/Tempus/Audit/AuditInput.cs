using Tempus.Selection;

namespace Tempus.Audit;

/// <summary>The configuration language of an audited file.</summary>
public enum ConfigDialect
{
    /// <summary>A Tempus configuration (chrony.conf syntax, read by <see cref="Config.ConfigParser"/>).</summary>
    Tempus,

    /// <summary>chrony's chrony.conf.</summary>
    Chrony,

    /// <summary>ntpd's or NTPsec's ntp.conf.</summary>
    Ntp,
}

/// <summary>What a configured source is.</summary>
public enum AuditSourceKind
{
    /// <summary><c>server HOST</c>.</summary>
    Server,

    /// <summary><c>pool NAME</c>: several servers behind one name.</summary>
    Pool,

    /// <summary><c>peer HOST</c>: a symmetric-active association.</summary>
    Peer,

    /// <summary><c>refclock</c> (chrony) or a 127.127.t.u address (ntpd): local hardware, not a network source.</summary>
    Refclock,
}

/// <summary>One configured time source, as the audit sees it.</summary>
public sealed record AuditSource
{
    /// <summary>Server, pool, peer or reference clock.</summary>
    public required AuditSourceKind Kind { get; init; }

    /// <summary>The host name or address as written (for a refclock, its driver and parameter).</summary>
    public required string Host { get; init; }

    /// <summary>UDP port of the NTP server.</summary>
    public int Port { get; init; } = 123;

    /// <summary>Authenticated with NTS.</summary>
    public bool Nts { get; init; }

    /// <summary>TCP port of the NTS-KE server.</summary>
    public int NtsPort { get; init; } = 4460;

    /// <summary>Trusted certificate set for NTS (chrony's <c>certset</c>).</summary>
    public int CertSet { get; init; }

    /// <summary>Certificate verification is off for this source (NTPsec's <c>noval</c>).</summary>
    public bool NoCertificateValidation { get; init; }

    /// <summary>NTPsec's per-source <c>ca FILE</c>: the CA file trusted for this source only.</summary>
    public string? CaFile { get; init; }

    /// <summary>Symmetric key id, or null.</summary>
    public uint? KeyId { get; init; }

    /// <summary>prefer, noselect, trust (ntpd's <c>true</c>), require.</summary>
    public SourceSelectOptions Options { get; init; }

    /// <summary>For a pool: how many of its servers are used (chrony's <c>maxsources</c>, 4 by default).</summary>
    public int MaxSources { get; init; } = 4;

    /// <summary>
    /// ntpd only: a <c>restrict</c> line with <c>notrust</c> covers this source, so its unauthenticated responses
    /// are rejected whatever the global mode.
    /// </summary>
    public bool AuthenticationRequired { get; init; }

    /// <summary>The file the line came from.</summary>
    public string FileName { get; init; } = "";

    /// <summary>The 1-based line number.</summary>
    public int Line { get; init; }

    /// <summary>How the source's responses are authenticated (a reference clock counts as authenticated: it is local).</summary>
    public SourceAuthentication Authentication =>
        Nts ? SourceAuthentication.Nts : KeyId is not null ? SourceAuthentication.SymmetricKey : SourceAuthentication.None;

    /// <summary>The name used in findings: the host as written, with "pool " before a pool's name.</summary>
    public string DisplayName => Kind == AuditSourceKind.Pool ? "pool " + Host : Host;

    /// <summary>Where the source is configured, "file:line".</summary>
    public string Location => Line > 0 ? $"{FileName}:{Line}" : FileName;
}

/// <summary>
/// Everything the configuration audit needs from a Tempus config, a chrony.conf or an ntp.conf, read by
/// <see cref="AuditConfigReader"/>: the sources and how they are authenticated, the effective authselectmode, the
/// key file and trusted keys, and the directives the findings are about.
/// </summary>
public sealed class AuditInput
{
    /// <summary>The main configuration file.</summary>
    public required string FileName { get; init; }

    /// <summary>Which language the file was read as.</summary>
    public required ConfigDialect Dialect { get; init; }

    /// <summary>The sources, in file order (including included files).</summary>
    public List<AuditSource> Sources { get; } = new();

    /// <summary>
    /// The effective authselectmode: as configured, else the daemon's default (Tempus: prefer, chrony: mix). An ntp.conf
    /// has none: <see cref="AuthSelectMode.Ignore"/>, or <see cref="AuthSelectMode.Require"/> with <c>restrict default notrust</c>.
    /// </summary>
    public AuthSelectMode AuthSelectMode { get; set; }

    /// <summary>Where the mode comes from, for messages: "authselectmode mix (line 7)", "chrony's default (mix)"...</summary>
    public string AuthSelectModeOrigin { get; set; } = "";

    /// <summary>The symmetric key file (<c>keyfile</c>, ntp.conf's <c>keys</c>), or null.</summary>
    public string? KeyFile { get; set; }

    /// <summary><c>trustedkey</c> ids, or null when absent (every key usable).</summary>
    public HashSet<uint>? TrustedKeys { get; set; }

    /// <summary><c>ntsdumpdir</c>, or null.</summary>
    public string? NtsDumpDirectory { get; set; }

    /// <summary>Whether the clock may be stepped at start (<c>makestep</c>; ntpd steps unless <c>tinker step 0</c>).</summary>
    public bool MakeStep { get; set; }

    /// <summary><c>nocerttimecheck N</c>: N, 0 when absent.</summary>
    public int NoCertTimeCheckUpdates { get; set; }

    /// <summary>Whether the file runs an NTP server for others (chrony: an <c>allow</c>; ntpd: not <c>restrict default ignore</c>).</summary>
    public bool ServesNtp { get; set; }

    /// <summary>Whether that server answers any address (allow all, 0/0, ::/0; ntpd's default).</summary>
    public bool ServesEveryone { get; set; }

    /// <summary>Whether requests are rate limited (<c>ratelimit</c>; ntpd's <c>limited</c> on the default restrict).</summary>
    public bool RateLimit { get; set; }

    /// <summary>The <c>user</c> directive, or null (the daemon's default user).</summary>
    public string? User { get; set; }

    /// <summary>Trusted CA files and directories for NTS (ntstrustedcerts, NTPsec's <c>nts ca</c>), by certificate set.</summary>
    public Dictionary<int, List<string>> NtsTrustedCertificates { get; } = new();

    /// <summary><c>nosystemcert</c>.</summary>
    public bool NoSystemCertificates { get; set; }

    /// <summary>Problems met while reading, as findings (config errors, skipped lines).</summary>
    public List<AuditFinding> ReadFindings { get; } = new();
}
