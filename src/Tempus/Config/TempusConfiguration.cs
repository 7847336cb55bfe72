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
}
