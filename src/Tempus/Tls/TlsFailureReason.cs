namespace Tempus.Tls;

/// <summary>Why a TLS connection for NTS-KE could not be established; each value has its own remedy.</summary>
public enum TlsFailureReason
{
    /// <summary>The peer broke the TLS protocol or spoke something else (wrong port, not TLS, not TLS 1.3).</summary>
    ProtocolError,

    /// <summary>Nothing listens on the port (TCP connection refused).</summary>
    ConnectionRefused,

    /// <summary>The TCP connection could not be made for another reason (no route, name not found).</summary>
    ConnectionFailed,

    /// <summary>The peer closed or reset the TCP connection before the handshake finished.</summary>
    ConnectionClosed,

    /// <summary>The connection or handshake did not finish within the configured timeout.</summary>
    Timeout,

    /// <summary>ALPN <c>ntske/1</c> was not agreed: the peer does not speak NTS-KE (RFC 8915 §4).</summary>
    NoAlpn,

    /// <summary>The server's certificate (or one in its chain) is past its notAfter date.</summary>
    CertificateExpired,

    /// <summary>The server's certificate (or one in its chain) is before its notBefore date.</summary>
    CertificateNotYetValid,

    /// <summary>The certificate chain does not lead to a trusted CA.</summary>
    UntrustedIssuer,

    /// <summary>The certificate does not name the server Tempus was told to connect to.</summary>
    HostnameMismatch,

    /// <summary>The certificate failed verification for another reason (bad signature, revoked, wrong purpose...).</summary>
    CertificateInvalid,

    /// <summary>The peer aborted the handshake with a TLS alert (for a server: the client rejected our certificate).</summary>
    PeerAlert,
}
