using System.Net;
using Tempus.Discipline;
using Tempus.Selection;
using Tempus.Sources;

namespace Tempus.Config;

/// <summary>
/// The daemon's configuration, read from a file in chrony.conf syntax by <see cref="ConfigParser"/>.
/// Defaults are chrony's unless a property says otherwise.
/// </summary>
public sealed class TempusConfiguration
{
    /// <summary>The standard NTP port.</summary>
    public const int DefaultNtpPort = 123;

    /// <summary>The file the configuration was read from, or null for the built-in defaults.</summary>
    public string? FileName { get; set; }

    /// <summary>UDP port the NTP server listens on (<c>port</c>); 0 disables the server.</summary>
    public int Port { get; set; } = DefaultNtpPort;

    /// <summary>IPv4 address the NTP server binds to (<c>bindaddress</c>); null binds to every address.</summary>
    public IPAddress? BindAddress { get; set; }

    /// <summary>IPv6 address the NTP server binds to (<c>bindaddress</c> given an IPv6 address).</summary>
    public IPAddress? BindAddress6 { get; set; }

    /// <summary>Symmetric key file (<c>keyfile</c>).</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// Key ids allowed for authentication (<c>trustedkey</c>, as in ntp.conf). Null when the directive is
    /// absent: then every key in the key file is usable, as in chrony.
    /// </summary>
    public IReadOnlySet<uint>? TrustedKeys { get; set; }

    /// <summary>Stratum served when no real source is synchronized (<c>local stratum N</c>); null when not set.</summary>
    public int? LocalStratum { get; set; }

    /// <summary>Who may query the NTP server (<c>allow</c>/<c>deny</c>).</summary>
    public AccessRules NtpAccess { get; } = new();

    /// <summary>
    /// Answer a request whose MAC fails or whose key is unknown with a crypto-NAK (<c>cryptonak</c>) instead of
    /// dropping it. chrony and NTPsec drop; classic ntpd clients expect the NAK.
    /// </summary>
    public bool CryptoNak { get; set; }

    /// <summary>The standard NTS-KE port (RFC 8915 §4).</summary>
    public const int DefaultNtsKePort = 4460;

    /// <summary>Default master-key rotation interval (<c>ntsrotate</c>): one week, as chrony.</summary>
    public const int DefaultNtsRotateSeconds = 604800;

    /// <summary>Default cookie refresh interval for NTS sources (<c>ntsrefresh</c>): two weeks, as chrony.</summary>
    public const int DefaultNtsRefreshSeconds = 1209600;

    /// <summary>Server certificate chain files (<c>ntsservercert</c>), paired in order with <see cref="NtsServerKeys"/>.</summary>
    public List<string> NtsServerCertificates { get; } = new();

    /// <summary>Server private key files (<c>ntsserverkey</c>).</summary>
    public List<string> NtsServerKeys { get; } = new();

    /// <summary>TCP port of the NTS-KE server (<c>ntsport</c>).</summary>
    public int NtsPort { get; set; } = DefaultNtsKePort;

    /// <summary>NTP server name sent in the NTS-KE Server record (<c>ntsntpserver</c>); null sends none.</summary>
    public string? NtsNtpServer { get; set; }

    /// <summary>Where NTS server keys and client cookies are saved (<c>ntsdumpdir</c>); null keeps them in memory only.</summary>
    public string? NtsDumpDirectory { get; set; }

    /// <summary>Seconds between server master-key rotations (<c>ntsrotate</c>); 0 = keys managed outside.</summary>
    public int NtsRotateSeconds { get; set; } = DefaultNtsRotateSeconds;

    /// <summary>Most concurrent NTS-KE connections (<c>maxntsconnections</c>), as chrony's default.</summary>
    public int MaxNtsConnections { get; set; } = 100;

    /// <summary>Trusted CA certificate files or directories by set id (<c>ntstrustedcerts [set] PATH</c>); set 0 is the default.</summary>
    public Dictionary<int, List<string>> NtsTrustedCertificates { get; } = new();

    /// <summary>Do not trust the system CA store (<c>nosystemcert</c>).</summary>
    public bool NoSystemCertificates { get; set; }

    /// <summary>
    /// Skip certificate time checks until the clock has been updated this many times (<c>nocerttimecheck N</c>):
    /// the way out of the bootstrap paradox (a clock so wrong that every certificate looks invalid). 0 = always check.
    /// </summary>
    public int NoCertTimeCheckUpdates { get; set; }

    /// <summary>Seconds after which an NTS source runs NTS-KE again (<c>ntsrefresh</c>).</summary>
    public int NtsRefreshSeconds { get; set; } = DefaultNtsRefreshSeconds;

    /// <summary>Default path of the control socket (<c>bindcmdaddress</c>).</summary>
    public const string DefaultCommandSocketPath = "/run/tempus/tempusd.sock";

    /// <summary>The <c>server</c> and <c>pool</c> lines, in file order (including files read by <c>include</c>,
    /// <c>confdir</c> and <c>sourcedir</c>).</summary>
    public List<SourceDefinition> Sources { get; } = new();

    /// <summary>Directories of <c>*.sources</c> files (<c>sourcedir</c>), re-read by <c>tempusctl reload sources</c>.</summary>
    public List<string> SourceDirectories { get; } = new();

    /// <summary><c>makestep</c>, <c>maxchange</c>, <c>driftfile</c>, <c>rtcsync</c>, <c>maxslewrate</c>...</summary>
    public DisciplineOptions Discipline { get; set; } = DisciplineOptions.Default;

    /// <summary><c>authselectmode</c>, <c>minsources</c>, <c>maxdistance</c>, <c>combinelimit</c>.</summary>
    public SelectionOptions Selection { get; set; } = SelectionOptions.Default;

    /// <summary>Path of the control socket (<c>bindcmdaddress /path</c>); null disables it.</summary>
    public string? CommandSocketPath { get; set; } = DefaultCommandSocketPath;

    /// <summary><c>cmdport</c>: chrony's UDP command port; Tempus has only the Unix socket, so only 0 is meaningful
    /// and any other value is accepted for compatibility and ignored with a warning.</summary>
    public int CommandPort { get; set; } = 323;

    /// <summary>What <c>log</c> asked for (measurements, rawmeasurements, refclocks, rtc, selection, statistics, tempcomp, tracking), lower case.</summary>
    public HashSet<string> LogKinds { get; } = new(StringComparer.Ordinal);

    /// <summary><c>logdir</c>: where the <c>log</c> files go; null = no log files.</summary>
    public string? LogDirectory { get; set; }

    /// <summary><c>leapsectz ZONE</c>: a <c>right/</c> zone whose leap seconds announce today's leap second when the sources do not.</summary>
    public string? LeapSecondTimezone { get; set; }

    /// <summary><c>leapseclist FILE</c>: a leap-seconds.list used like <see cref="LeapSecondTimezone"/> (it wins when both are set).</summary>
    public string? LeapSecondList { get; set; }

    /// <summary><c>ratelimit</c> for NTP requests; null when the directive is absent (no rate limiting).</summary>
    public RateLimitOptions? RateLimit { get; set; }

    /// <summary><c>ntsratelimit</c> for NTS-KE connections; null when absent.</summary>
    public RateLimitOptions? NtsRateLimit { get; set; }

    /// <summary><c>clientloglimit</c>: memory for the client table, bytes (chrony's default 524288).</summary>
    public long ClientLogLimit { get; set; } = 524288;

    /// <summary><c>noclientlog</c>: keep no client table.</summary>
    public bool NoClientLog { get; set; }

    /// <summary><c>metricsaddress ADDR:PORT</c>: the OpenMetrics/Prometheus endpoint; null = off (the default).</summary>
    public IPEndPoint? MetricsAddress { get; set; }

    /// <summary><c>serverworkers N</c>: receive loops sharing the NTP port with SO_REUSEPORT; 0 = one per core.</summary>
    public int ServerWorkers { get; set; }

    /// <summary>
    /// <c>ntsprocesses N</c>: the NTS-KE server's event loops, threads of tempusd where chronyd starts helper processes
    /// (0, chrony's "no helper", is one loop); null = the default, one per two cores.
    /// </summary>
    public int? NtsProcesses { get; set; }

    /// <summary><c>user</c>: the account the daemon runs as (for the audit's key-file permission check).</summary>
    public string? User { get; set; }

    /// <summary>
    /// Problems that do not stop the daemon: chrony directives and options Tempus accepts but does not implement,
    /// values it adjusts as chrony would. Same shape as the errors, so <c>tempusd --check-config</c> prints both alike.
    /// </summary>
    public List<ConfigError> Warnings { get; } = new();

    /// <summary>
    /// Every file the configuration was read from, in reading order: the main file, then the files of
    /// <c>include</c>, <c>confdir</c> and <c>sourcedir</c> (full paths). What the audit checks for permissions and
    /// what a reload has to re-read.
    /// </summary>
    public List<string> ConfigurationFiles { get; } = new();

    /// <summary>True when this configuration runs an NTS-KE server.</summary>
    public bool IsNtsServer => NtsServerCertificates.Count > 0;
}

/// <summary>
/// The <c>ratelimit</c> / <c>ntsratelimit</c> options (chrony.conf): a token bucket per client address.
/// </summary>
/// <param name="IntervalLog2">Minimum average interval between requests, log2 seconds (chrony's default 3).</param>
/// <param name="Burst">Requests allowed in a burst above the average (default 8).</param>
/// <param name="Leak">One in 2^leak of the requests over the limit is answered anyway (default 2), so a client sharing an
/// address with an abuser is not cut off entirely.</param>
/// <param name="Kod">Answer every 2^kod-th limited request with a KoD RATE instead of dropping it; 0 = never.</param>
public sealed record RateLimitOptions(int IntervalLog2 = 3, int Burst = 8, int Leak = 2, int Kod = 0);
