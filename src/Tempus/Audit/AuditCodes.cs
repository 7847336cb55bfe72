namespace Tempus.Audit;

/// <summary>
/// The stable identifiers of audit findings (<see cref="AuditFinding.Code"/>). Scripts and monitoring match on these;
/// a code is never renamed or reused for another meaning. The severity given is the usual one.
/// </summary>
public static class AuditCodes
{
    // --- sources and selection ---

    /// <summary>Info: the source is configured for NTS (file mode; the network check proves it works).</summary>
    public const string SourceNts = "source-nts";

    /// <summary>Info: the source is configured with a symmetric key.</summary>
    public const string SourceSymmetricKey = "source-symmetric-key";

    /// <summary>Failure: an unauthenticated source that can steer the clock under the effective authselectmode.</summary>
    public const string UnauthenticatedSourceCanSteer = "unauthenticated-source-can-steer";

    /// <summary>Info: an unauthenticated source that cannot steer the clock (noselect, or excluded by authselectmode).</summary>
    public const string UnauthenticatedSource = "unauthenticated-source";

    /// <summary>Failure: the configuration has no time source at all.</summary>
    public const string NoSources = "no-sources";

    /// <summary>Warning: fewer than three sources can be selected, so one bad source cannot be outvoted.</summary>
    public const string TooFewSources = "too-few-sources";

    /// <summary>Warning: authselectmode mix or ignore (or ntpd, which has none): unauthenticated sources take part in selection.</summary>
    public const string AuthSelectModeWeak = "authselectmode-weak";

    /// <summary>Failure: an NTS source whose server certificate is not verified at all (NTPsec's <c>noval</c>).</summary>
    public const string NtsCertificateNotVerified = "nts-certificate-not-verified";

    // --- symmetric keys ---

    /// <summary>Failure: sources use keys but no key file is configured (<c>keyfile</c> / <c>keys</c>).</summary>
    public const string KeyFileMissing = "keyfile-missing";

    /// <summary>Failure: the key file has an invalid line or cannot be opened by anyone: the daemon cannot load it.</summary>
    public const string KeyFileInvalid = "keyfile-invalid";

    /// <summary>Warning: the audit could not read the key file (it runs as another user than the daemon), so the keys were not checked.</summary>
    public const string KeyFileUnreadable = "keyfile-unreadable";

    /// <summary>Warning: the key file is readable by group or others: local users can read the secrets and forge time.</summary>
    public const string KeyFilePermissions = "keyfile-permissions";

    /// <summary>Failure: the daemon's user (<c>user</c> directive or the default) cannot read the key file.</summary>
    public const string KeyFileUnreadableByDaemon = "keyfile-unreadable-by-daemon";

    /// <summary>Failure: a source uses a key id that is not in the key file.</summary>
    public const string KeyMissing = "key-missing";

    /// <summary>Failure: a source uses a key that <c>trustedkey</c> does not list, so its responses never authenticate.</summary>
    public const string KeyUntrusted = "key-untrusted";

    /// <summary>Warning: an MD5 key is in use (RFC 8573 deprecates MD5 for NTP).</summary>
    public const string KeyMd5 = "key-md5";

    /// <summary>
    /// Info: a SHA1 key is in use. Keyed SHA-1 as NTP uses it (a prefix MAC over a fixed-format packet) has no practical
    /// attack known, but RFC 8573 recommends AES-CMAC; it is a note, not a warning.
    /// </summary>
    public const string KeySha1 = "key-sha1";

    /// <summary>Warning: a key in use is shorter than 128 bits, within reach of an offline search from one captured packet.</summary>
    public const string KeyShort = "key-short";

    // --- NTS, discipline, server ---

    /// <summary>Warning: NTS sources but no <c>ntsdumpdir</c>: every restart runs NTS-KE with every server (a key exchange storm after a reboot). Info for NTPsec, which never saves client cookies.</summary>
    public const string NtsDumpDirMissing = "ntsdumpdir-missing";

    /// <summary>Warning: <c>ntsdumpdir</c> is on tmpfs (/run...), so the saved cookies are lost at every reboot.</summary>
    public const string NtsDumpDirTmpfs = "ntsdumpdir-tmpfs";

    /// <summary>Warning: <c>nocerttimecheck</c> is set: expired certificates (whose keys may have leaked) are accepted at boot.</summary>
    public const string NoCertTimeCheck = "nocerttimecheck";

    /// <summary>Warning: no <c>makestep</c> (or ntpd's <c>tinker step 0</c>): a wrong clock at boot is slewed for hours or days instead of stepped.</summary>
    public const string MakeStepMissing = "makestep-missing";

    /// <summary>Warning: the NTP server answers every address (<c>allow all</c>, <c>allow 0/0</c>...) with no <c>ratelimit</c>: an amplification and load target.</summary>
    public const string ServerOpenWithoutRateLimit = "server-open-without-ratelimit";

    /// <summary>Failure: a Tempus configuration has errors, so tempusd would refuse to start.</summary>
    public const string ConfigError = "config-error";

    /// <summary>Info: a line of a chrony.conf or ntp.conf the audit could not read; it was skipped.</summary>
    public const string ConfigLineIgnored = "config-line-ignored";

    // --- network checks ---

    /// <summary>Failure: the source's name does not resolve.</summary>
    public const string DnsFailure = "dns-failure";

    /// <summary>Failure: TCP connection to the NTS-KE port refused (server down, or wrong port).</summary>
    public const string NtsKeConnectionRefused = "ntske-connection-refused";

    /// <summary>Failure: TCP connection to the NTS-KE port or the handshake timed out (a firewall dropping TCP/4460?).</summary>
    public const string NtsKeTimeout = "ntske-timeout";

    /// <summary>Failure: the TCP connection to the NTS-KE port failed for another reason (no route).</summary>
    public const string NtsKeConnectionFailed = "ntske-connection-failed";

    /// <summary>Failure: the server's certificate is past its notAfter date (or this machine's clock is ahead).</summary>
    public const string TlsCertificateExpired = "tls-certificate-expired";

    /// <summary>Failure: the server's certificate is before its notBefore date (or this machine's clock is behind).</summary>
    public const string TlsCertificateNotYetValid = "tls-certificate-not-yet-valid";

    /// <summary>Failure: the certificate chain does not lead to a trusted CA.</summary>
    public const string TlsUntrustedIssuer = "tls-untrusted-issuer";

    /// <summary>Failure: the certificate does not name the configured server.</summary>
    public const string TlsHostnameMismatch = "tls-hostname-mismatch";

    /// <summary>Failure: another TLS failure (protocol, ALPN, invalid certificate, connection closed).</summary>
    public const string TlsHandshakeFailed = "tls-handshake-failed";

    /// <summary>Failure: TLS worked but the NTS-KE exchange did not (error record, malformed response).</summary>
    public const string NtsKeFailed = "ntske-failed";

    /// <summary>Failure: NTS-KE over TCP worked but no NTS-protected NTP response came back over UDP (UDP/123 blocked?).</summary>
    public const string UdpBlocked = "udp-blocked";

    /// <summary>Failure: the NTS-protected NTP exchange failed in another way (NAK, authentication failure, KoD).</summary>
    public const string NtsNtpFailed = "nts-ntp-failed";

    /// <summary>Info: NTS is in force: key exchange done, cookies held, an authenticated response received.</summary>
    public const string NtsInForce = "nts-in-force";

    /// <summary>Failure: a symmetric-key response failed authentication (wrong MAC, other key, crypto-NAK).</summary>
    public const string SymmetricKeyMacFailure = "symmetric-key-mac-failure";

    /// <summary>Failure: no response to a symmetric-key request (servers drop requests with unknown keys).</summary>
    public const string SymmetricKeyNoResponse = "symmetric-key-no-response";

    /// <summary>Info: symmetric-key authentication is in force: an authenticated response was received.</summary>
    public const string SymmetricKeyInForce = "symmetric-key-in-force";

    /// <summary>Warning: an unauthenticated source did not answer.</summary>
    public const string SourceUnreachable = "source-unreachable";

    /// <summary>Info: an unauthenticated source answered (reachability only: the answer proves nothing about the time).</summary>
    public const string SourceReachable = "source-reachable";

    // --- live mode ---

    /// <summary>Failure: the running daemon could not be asked (control socket missing or refusing).</summary>
    public const string DaemonUnreachable = "daemon-unreachable";

    /// <summary>Failure: a source configured for NTS has no NTS in force (no key exchange, no cookies, or unauthenticated responses).</summary>
    public const string NtsNotInForce = "nts-not-in-force";

    /// <summary>Failure: a source configured with a key has not had an authenticated response.</summary>
    public const string SymmetricKeyNotInForce = "symmetric-key-not-in-force";

    /// <summary>Warning: the daemon is not synchronized to any source.</summary>
    public const string NotSynchronized = "not-synchronized";
}
