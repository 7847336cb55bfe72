namespace Tempus.Tls;

/// <summary>An NTS-KE server's certificates (chrony: ntsservercert and ntsserverkey).</summary>
public sealed record TlsServerOptions
{
    /// <summary>
    /// Certificate and key pairs; at least one. With several, a client's SNI selects the first pair whose
    /// certificate matches it; without SNI or a match, the first pair is used.
    /// </summary>
    public required IReadOnlyList<TlsCertificateKeyPair> Certificates { get; init; }

    /// <summary>Limit on a client's TLS handshake.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>A server certificate and its private key, both PEM files.</summary>
/// <param name="CertificateChainFile">The server certificate followed by any intermediate CA certificates.</param>
/// <param name="PrivateKeyFile">The private key of the server certificate.</param>
public sealed record TlsCertificateKeyPair(string CertificateChainFile, string PrivateKeyFile);
