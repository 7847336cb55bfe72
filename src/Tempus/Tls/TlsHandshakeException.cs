namespace Tempus.Tls;

/// <summary>
/// The TCP connection or TLS handshake for NTS-KE failed. <see cref="Reason"/> sorts the cause; the message
/// says it in words a user can act on, e.g. "certificate has expired (notAfter ...; this machine's clock
/// says ...): the certificate or this machine's clock is wrong; see nocerttimecheck".
/// </summary>
public sealed class TlsHandshakeException : TlsException
{
    /// <summary>Creates an exception for <paramref name="reason"/> with a message naming the peer and the remedy.</summary>
    public TlsHandshakeException(TlsFailureReason reason, string peer, string message, Exception? innerException = null)
        : this(reason, peer, message, [], null, innerException)
    {
    }

    internal TlsHandshakeException(
        TlsFailureReason reason, string peer, string message, IReadOnlyList<string> openSslErrors, TlsCertificateInfo? failedCertificate, Exception? innerException)
        : base(message, openSslErrors, innerException)
    {
        Reason = reason;
        Peer = peer;
        FailedCertificate = failedCertificate;
    }

    /// <summary>What went wrong.</summary>
    public TlsFailureReason Reason { get; }

    /// <summary>The other side as written in the message: <c>host:port</c> for a client, the client's address for a server.</summary>
    public string Peer { get; }

    /// <summary>For certificate failures: the certificate OpenSSL rejected (not always the server's own; it may be a CA in its chain).</summary>
    public TlsCertificateInfo? FailedCertificate { get; }
}
