using System.Net;

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

    /// <summary>True when this configuration runs an NTS-KE server.</summary>
    public bool IsNtsServer => NtsServerCertificates.Count > 0;
}
