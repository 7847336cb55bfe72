namespace Tempus.Tls;

/// <summary>How an NTS-KE client authenticates servers (chrony: ntstrustedcerts, nosystemcert, nocerttimecheck).</summary>
public sealed record TlsClientOptions
{
    /// <summary>
    /// The server's name as configured: sent as SNI and matched against the certificate's subjectAltName
    /// (DNS name, or IP address for an IP literal, which is not sent as SNI).
    /// </summary>
    public required string ServerName { get; init; }

    /// <summary>PEM files whose certificates are trusted as CAs (chrony's ntstrustedcerts with a file).</summary>
    public IReadOnlyList<string> TrustedCertificateFiles { get; init; } = [];

    /// <summary>Directories whose <c>*.crt</c> PEM files are trusted as CAs (chrony's ntstrustedcerts with a directory).</summary>
    public IReadOnlyList<string> TrustedCertificateDirectories { get; init; } = [];

    /// <summary>Also trust the system CA store; <c>false</c> is chrony's nosystemcert.</summary>
    public bool UseSystemCertificates { get; init; } = true;

    /// <summary>
    /// Do not check notBefore/notAfter (chrony's nocerttimecheck): for a machine whose clock is too wrong
    /// to verify any certificate until NTS has set it. Weakens authentication; off by default.
    /// </summary>
    public bool SkipCertificateTimeChecks { get; init; }

    /// <summary>Limit on TCP connect plus TLS handshake.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
