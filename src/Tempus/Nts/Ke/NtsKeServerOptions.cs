using System.Net;
using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Nts;

/// <summary>An NTS-KE server's configuration (chrony: ntsport, ntsservercert, ntsserverkey, ntsntpserver).</summary>
public sealed record NtsKeServerOptions
{
    /// <summary>Where to listen: every address on TCP/4460 (RFC 8915 §4), IPv4 included through a dual-mode socket.</summary>
    public IReadOnlyList<IPEndPoint> Endpoints { get; init; } = [new IPEndPoint(IPAddress.IPv6Any, NtsKeClientOptions.DefaultPort)];

    /// <summary>The certificate chain and key files (ntsservercert, ntsserverkey); at least one pair.</summary>
    public required IReadOnlyList<TlsCertificateKeyPair> Certificates { get; init; }

    /// <summary>
    /// The NTP server clients should use, sent as the NTPv4 Server Negotiation record (RFC 8915 §4.1.7,
    /// ntsntpserver); <see langword="null"/> sends none, so clients use this server's address.
    /// </summary>
    public string? NtpServer { get; init; }

    /// <summary>The NTP server's UDP port; a Port Negotiation record (RFC 8915 §4.1.8) is sent unless it is 123.</summary>
    public int NtpPort { get; init; } = NtsKeResponse.DefaultNtpPort;

    /// <summary>
    /// The AEAD algorithms this server accepts; the first in the client's order that is also here and that
    /// <see cref="Crypto.NtsAead.IsSupported"/> is chosen. <see langword="null"/>: 15, 16, 17 and 30.
    /// </summary>
    public IReadOnlyList<NtsAeadAlgorithm>? AeadAlgorithms { get; init; }

    /// <summary>Limit on a client's TLS handshake.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Limit on receiving the whole request after the handshake, and on sending the response.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The most event loops <see cref="EventLoops"/> may ask for.</summary>
    public const int MaxEventLoops = 64;

    /// <summary>
    /// Threads that accept connections and run their TLS (chrony's <c>ntsprocesses</c>); 0 = one per two processors,
    /// at least one and at most eight: each loop runs its connections' handshakes inline, and on CPUs the NTP server's
    /// workers share a loop per CPU mostly added wake-ups.
    /// </summary>
    public int EventLoops { get; init; }

    /// <summary>The most connections served at once; more are closed as soon as they are accepted, and counted.</summary>
    public int MaxConnections { get; init; } = 100;

    /// <summary>
    /// How often the certificate and key files are checked for changes (size and modification time) and reloaded;
    /// <see cref="TimeSpan.Zero"/> or <see cref="Timeout.InfiniteTimeSpan"/> disables the check, leaving
    /// <see cref="NtsKeServer.ReloadCertificates"/> (SIGHUP).
    /// </summary>
    public TimeSpan CertificateCheckInterval { get; init; } = TimeSpan.FromSeconds(5);
}
