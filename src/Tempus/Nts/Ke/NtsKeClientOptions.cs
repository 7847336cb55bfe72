using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Nts;

/// <summary>How an NTS-KE client talks to one server (chrony: <c>server ... nts</c>, ntstrustedcerts, nosystemcert, nocerttimecheck).</summary>
public sealed record NtsKeClientOptions
{
    /// <summary>The NTS-KE port (RFC 8915 §4: TCP/4460).</summary>
    public const int DefaultPort = 4460;

    /// <summary>
    /// The AEAD algorithms offered by default, most preferred first: 15 (AES-SIV-CMAC-256), which RFC 8915 §4.1.5
    /// makes mandatory for every server, so any server that speaks NTPv4 accepts it and no server is led into the
    /// AEAD 30 exporter ambiguity of chrony up to 4.6; then 30 (AES-128-GCM-SIV, offered with record 1024) and 17
    /// (AES-SIV-CMAC-512) for servers configured to refuse 15.
    /// </summary>
    public static IReadOnlyList<NtsAeadAlgorithm> DefaultAeadAlgorithms { get; } =
        [NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.Aes128GcmSiv, NtsAeadAlgorithm.AesSivCmac512];

    /// <summary>The AEAD algorithms to offer, most preferred first (RFC 8915 §4.1.5); each must be one this library implements.</summary>
    public IReadOnlyList<NtsAeadAlgorithm> AeadAlgorithms { get; init; } = DefaultAeadAlgorithms;

    /// <summary>PEM files whose certificates are trusted as CAs (ntstrustedcerts with a file).</summary>
    public IReadOnlyList<string> TrustedCertificateFiles { get; init; } = [];

    /// <summary>Directories whose <c>*.crt</c> PEM files are trusted as CAs (ntstrustedcerts with a directory).</summary>
    public IReadOnlyList<string> TrustedCertificateDirectories { get; init; } = [];

    /// <summary>Also trust the system CA store; <see langword="false"/> is chrony's nosystemcert.</summary>
    public bool UseSystemCertificates { get; init; } = true;

    /// <summary>Do not check certificate validity dates (nocerttimecheck), for a clock too wrong to verify any certificate.</summary>
    public bool SkipCertificateTimeChecks { get; init; }

    /// <summary>The name the server's certificate must carry; the host passed to the exchange when <see langword="null"/>.</summary>
    public string? CertificateName { get; init; }

    /// <summary>Limit on the TCP connection plus the TLS handshake.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Limit on sending the request and receiving the whole response after the handshake.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    internal TlsClientOptions ToTlsOptions(string host) => new()
    {
        ServerName = CertificateName ?? host,
        TrustedCertificateFiles = TrustedCertificateFiles,
        TrustedCertificateDirectories = TrustedCertificateDirectories,
        UseSystemCertificates = UseSystemCertificates,
        SkipCertificateTimeChecks = SkipCertificateTimeChecks,
        HandshakeTimeout = HandshakeTimeout,
    };
}
