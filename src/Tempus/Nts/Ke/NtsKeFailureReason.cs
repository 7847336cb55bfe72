namespace Tempus.Nts;

/// <summary>Why an NTS-KE exchange failed (see <see cref="NtsKeException.Reason"/>); each value has its own remedy.</summary>
public enum NtsKeFailureReason
{
    /// <summary>Nothing listens on the NTS-KE port (TCP connection refused): the server is down or the port is wrong.</summary>
    ConnectionRefused,

    /// <summary>The connection, the TLS handshake or the response did not finish in time.</summary>
    Timeout,

    /// <summary>The server's name could not be resolved.</summary>
    DnsFailure,

    /// <summary>The TCP connection could not be made for another reason (no route, network unreachable).</summary>
    ConnectionFailed,

    /// <summary>The TLS layer failed: certificate, ALPN, or the connection broke; <see cref="NtsKeException.TlsReason"/> says which.</summary>
    TlsFailure,

    /// <summary>The server's response is malformed or does not answer the request (RFC 8915 §4.1).</summary>
    ProtocolError,

    /// <summary>The server answered with an Error record (RFC 8915 §4.1.3) or a Warning record (§4.1.4).</summary>
    ServerError,
}
