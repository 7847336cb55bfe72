using System.Globalization;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Ntp;
using Tempus.Nts;
using Tempus.Tls;

namespace Tempus.Audit;

/// <summary>
/// The network checks of <c>tempusctl audit</c>, one per source, all in parallel, each bounded by the timeout: for an
/// NTS source, the TCP connection to NTS-KE (refused, timed out, DNS), the TLS 1.3 handshake with certificate
/// verification, the key exchange and one NTS-protected NTP exchange over UDP; for a symmetric-key source one
/// authenticated exchange; for a plain source one exchange (reachability only).
/// </summary>
public sealed class NetworkAuditor
{
    private readonly ISystemClock _clock;
    private readonly TimeSpan _timeout;

    /// <summary>Creates the auditor.</summary>
    /// <param name="timeout">Limit on each step: TCP connect plus TLS handshake, the NTS-KE response, each NTP exchange.</param>
    /// <param name="clock">The clock for NTP timestamps; the real-time clock when null.</param>
    public NetworkAuditor(TimeSpan timeout, ISystemClock? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _timeout = timeout;
        _clock = clock ?? RealtimeClock.Instance;
    }

    /// <summary>Checks every network source of <paramref name="input"/> and returns the findings in source order.</summary>
    public async Task<IReadOnlyList<AuditFinding>> AuditAsync(AuditInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        KeyRing? keys = LoadKeys(input);
        try
        {
            Task<AuditFinding?>[] checks = input.Sources
                .Where(s => s.Kind != AuditSourceKind.Refclock)
                .Select(s => CheckAsync(s, input, keys, cancellationToken))
                .ToArray();
            AuditFinding?[] results = await Task.WhenAll(checks).ConfigureAwait(false);
            return results.OfType<AuditFinding>().ToList();
        }
        finally
        {
            keys?.Dispose();
        }
    }

    private static KeyRing? LoadKeys(AuditInput input)
    {
        if (input.KeyFile is null || !input.Sources.Any(s => s.KeyId is not null && !s.Nts))
        {
            return null;
        }

        try
        {
            return KeyRing.Load(input.KeyFile, new List<KeyFileWarning>());
        }
        catch (KeyFileException)
        {
            // The configuration audit reports the key file; without keys the exchange cannot be tried.
            return null;
        }
    }

    private async Task<AuditFinding?> CheckAsync(AuditSource source, AuditInput input, KeyRing? keys, CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (source.Nts)
        {
            return await CheckNtsAsync(source, input, cancellationToken).ConfigureAwait(false);
        }

        SymmetricKey? key = null;
        if (source.KeyId is uint id)
        {
            if (keys is null || !keys.TryGetKey(id, out key))
            {
                // key-missing, keyfile-*: reported by the configuration audit.
                return null;
            }
        }

        try
        {
            NtpQueryResult result = await new NtpClient(_clock).QueryAsync(source.Host, source.Port, key, _timeout, cancellationToken).ConfigureAwait(false);
            return key is null
                ? new AuditFinding(AuditSeverity.Info, source.DisplayName, AuditCodes.SourceReachable,
                    $"{source.DisplayName} answered from {result.Server} (offset {Seconds(result.Offset)} s); the answer is not authenticated, so this shows reachability only", "")
                : new AuditFinding(AuditSeverity.Info, source.DisplayName, AuditCodes.SymmetricKeyInForce,
                    $"{source.DisplayName} answered from {result.Server} with a valid MAC for key {key.Id} ({MacAlgorithms.ChronyName(key.Algorithm)}), offset {Seconds(result.Offset)} s", "");
        }
        catch (NtpQueryException e)
        {
            return QueryFailure(source, key, e);
        }
    }

    private static AuditFinding QueryFailure(AuditSource source, SymmetricKey? key, NtpQueryException e)
    {
        if (e.Error == NtpQueryError.Unreachable && e.Message.StartsWith("cannot resolve", StringComparison.Ordinal))
        {
            return new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.DnsFailure, e.Message, "check the name in the configuration and this machine's DNS resolver");
        }

        if (key is not null)
        {
            return e.Error switch
            {
                NtpQueryError.AuthenticationFailed or NtpQueryError.CryptoNak => new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.SymmetricKeyMacFailure,
                    e.Message, $"make key {key.Id} the same on both sides (type and value) and trusted by the server"),
                NtpQueryError.Timeout => new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.SymmetricKeyNoResponse,
                    e.Message, $"check that the server is up, that UDP/{source.Port} is open, and that the server has key {key.Id}: servers silently drop requests whose key they do not have"),
                _ => new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.SymmetricKeyNoResponse,
                    e.Message, "check the server"),
            };
        }

        return new AuditFinding(AuditSeverity.Warning, source.DisplayName, AuditCodes.SourceUnreachable, e.Message,
            e.Error == NtpQueryError.Timeout ? $"check that the server is up and that UDP/{source.Port} is open" : "check the server");
    }

    private async Task<AuditFinding> CheckNtsAsync(AuditSource source, AuditInput input, CancellationToken cancellationToken)
    {
        var files = new List<string>();
        var directories = new List<string>();
        IEnumerable<string> trusted = input.NtsTrustedCertificates.TryGetValue(source.CertSet, out List<string>? paths) ? paths : [];
        if (source.CaFile is string ca)
        {
            trusted = trusted.Append(ca);
        }

        foreach (string path in trusted)
        {
            (Directory.Exists(path) ? directories : files).Add(path);
        }

        var options = new NtsKeClientOptions
        {
            TrustedCertificateFiles = files,
            TrustedCertificateDirectories = directories,
            UseSystemCertificates = !input.NoSystemCertificates,
            HandshakeTimeout = _timeout,
            ResponseTimeout = _timeout,
        };
        var association = new NtsAssociation(source.Host, source.NtsPort, options, store: null, _clock, refresh: TimeSpan.Zero, source.Port != 123 ? source.Port : null);
        try
        {
            NtpQueryResult result = await association.QueryAsync(_timeout, cancellationToken).ConfigureAwait(false);
            NtsSession session = association.Session!;
            return new AuditFinding(AuditSeverity.Info, source.DisplayName, AuditCodes.NtsInForce,
                string.Create(CultureInfo.InvariantCulture,
                    $"NTS works with {source.DisplayName}: NTS-KE on {source.Host}:{source.NtsPort} with a verified certificate, AEAD {(int)session.Algorithm}, {session.Cookies.Count} cookies held, an authenticated response from {result.Server} (offset {Seconds(result.Offset)} s)"),
                "");
        }
        catch (TlsConfigurationException e)
        {
            return new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.TlsHandshakeFailed, e.Message, "correct ntstrustedcerts / nosystemcert");
        }
        catch (NtsKeException e)
        {
            return KeyExchangeFailure(source, input, e);
        }
        catch (NtpQueryException e)
        {
            string peer = $"{source.Host}:{source.NtsPort}";
            return e.Error is NtpQueryError.Timeout
                ? new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.UdpBlocked,
                    $"NTS-KE with {peer} over TCP worked, but {e.Message}: UDP/{association.Session?.NtpPort ?? 123} looks blocked (or the NTP server named by NTS-KE is down)",
                    $"allow outbound UDP to port {association.Session?.NtpPort ?? 123} and its answers in the firewall (a stateful rule for NTP, not only TCP/{source.NtsPort})")
                : e.Error is NtpQueryError.Unreachable && e.Message.StartsWith("cannot resolve", StringComparison.Ordinal)
                    ? new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.DnsFailure, $"NTS-KE with {peer} worked, but the NTP server it named does not resolve: {e.Message}", "check DNS for the NTP server name the NTS-KE server sends")
                    : new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.NtsNtpFailed,
                        $"NTS-KE with {peer} worked, but the NTS-protected NTP exchange failed: {e.Message}", "check the server's NTS configuration (its NTP server must hold the same cookie keys as its NTS-KE server)");
        }
    }

    private static AuditFinding KeyExchangeFailure(AuditSource source, AuditInput input, NtsKeException e)
    {
        string name = source.DisplayName;
        string dates = e.InnerException is TlsHandshakeException { FailedCertificate: { } cert }
            ? string.Create(CultureInfo.InvariantCulture, $" [certificate {cert.Subject}: valid from {cert.NotBefore:yyyy-MM-dd HH:mm:ss}Z to {cert.NotAfter:yyyy-MM-dd HH:mm:ss}Z; this machine's clock says {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z]")
            : "";
        string timeFix = input.NoCertTimeCheckUpdates > 0
            ? $"; nocerttimecheck {input.NoCertTimeCheckUpdates} would let the daemon accept it for its first updates"
            : "";
        return e.Reason switch
        {
            NtsKeFailureReason.DnsFailure => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.DnsFailure, e.Message, "check the name in the configuration and this machine's DNS resolver"),
            NtsKeFailureReason.ConnectionRefused => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.NtsKeConnectionRefused, e.Message,
                $"check that the server runs NTS-KE on TCP/{source.NtsPort} (ntsport) and that nothing rejects the connection"),
            NtsKeFailureReason.Timeout => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.NtsKeTimeout, e.Message,
                $"does a firewall block TCP/{source.NtsPort}? Allow outbound TCP to port {source.NtsPort}, or check that the server is up"),
            NtsKeFailureReason.ConnectionFailed => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.NtsKeConnectionFailed, e.Message, "check the route to the server and the firewall"),
            NtsKeFailureReason.TlsFailure => e.TlsReason switch
            {
                TlsFailureReason.CertificateExpired => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.TlsCertificateExpired, e.Message + dates,
                    "if this machine's clock is right, the server must renew its certificate; if the clock is wrong (far ahead), set it once by hand or from a trusted source" + timeFix),
                TlsFailureReason.CertificateNotYetValid => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.TlsCertificateNotYetValid, e.Message + dates,
                    "this machine's clock is probably behind (dead RTC battery?): set it once, or allow nocerttimecheck 1 for the first update" + timeFix),
                TlsFailureReason.UntrustedIssuer => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.TlsUntrustedIssuer, e.Message + dates,
                    "trust the server's CA with ntstrustedcerts (or install it in the system store), or use a server whose certificate a public CA issued"),
                TlsFailureReason.HostnameMismatch => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.TlsHostnameMismatch, e.Message + dates,
                    "configure the server by a name its certificate lists in subjectAltName"),
                _ => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.TlsHandshakeFailed, e.Message + dates,
                    $"check that TCP/{source.NtsPort} is the server's NTS-KE port and that it speaks TLS 1.3 with ALPN ntske/1"),
            },
            _ => new AuditFinding(AuditSeverity.Failure, name, AuditCodes.NtsKeFailed, e.Message, "check the NTS-KE server's configuration and logs"),
        };
    }

    private static string Seconds(double value) => value.ToString("+0.000000;-0.000000", CultureInfo.InvariantCulture);
}
