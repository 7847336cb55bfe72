namespace Tempus.Nts;

/// <summary>
/// NTS-KE server counters in the spirit of chronyc <c>serverstats</c> (NTS-KE connections and failures). Updated
/// with Interlocked from the connection tasks; read for monitoring without locking.
/// </summary>
public sealed class NtsKeServerCounters
{
    private long _connectionsAccepted;
    private long _connectionsRejected;
    private long _handshakesCompleted;
    private long _handshakesFailed;
    private long _requests;
    private long _responses;
    private long _errorsSent;
    private long _requestTimeouts;
    private long _connectionErrors;
    private long _cookiesIssued;
    private long _certificateReloads;
    private long _certificateReloadFailures;

    /// <summary>TCP connections accepted and served (not counting those over the connection limit).</summary>
    public long ConnectionsAccepted => Volatile.Read(ref _connectionsAccepted);

    /// <summary>TCP connections closed at once because <see cref="NtsKeServerOptions.MaxConnections"/> were already open.</summary>
    public long ConnectionsRejected => Volatile.Read(ref _connectionsRejected);

    /// <summary>TLS handshakes that completed with ALPN ntske/1.</summary>
    public long HandshakesCompleted => Volatile.Read(ref _handshakesCompleted);

    /// <summary>TLS handshakes that failed or timed out.</summary>
    public long HandshakesFailed => Volatile.Read(ref _handshakesFailed);

    /// <summary>Well-formed requests received.</summary>
    public long Requests => Volatile.Read(ref _requests);

    /// <summary>Successful responses sent (with keys and cookies, or with an empty AEAD record when nothing matched).</summary>
    public long Responses => Volatile.Read(ref _responses);

    /// <summary>Error records sent (RFC 8915 §4.1.3): malformed requests, unknown critical records, internal errors.</summary>
    public long ErrorsSent => Volatile.Read(ref _errorsSent);

    /// <summary>Connections closed because the request did not arrive within <see cref="NtsKeServerOptions.RequestTimeout"/>.</summary>
    public long RequestTimeouts => Volatile.Read(ref _requestTimeouts);

    /// <summary>Connections that broke after the handshake (reset, closed without close_notify).</summary>
    public long ConnectionErrors => Volatile.Read(ref _connectionErrors);

    /// <summary>Cookies issued.</summary>
    public long CookiesIssued => Volatile.Read(ref _cookiesIssued);

    /// <summary>Certificate reloads that took effect.</summary>
    public long CertificateReloads => Volatile.Read(ref _certificateReloads);

    /// <summary>Certificate reloads that failed (the previous certificates stayed in service).</summary>
    public long CertificateReloadFailures => Volatile.Read(ref _certificateReloadFailures);

    internal void CountConnectionAccepted() => Interlocked.Increment(ref _connectionsAccepted);

    internal void CountConnectionRejected() => Interlocked.Increment(ref _connectionsRejected);

    internal void CountHandshakeCompleted() => Interlocked.Increment(ref _handshakesCompleted);

    internal void CountHandshakeFailed() => Interlocked.Increment(ref _handshakesFailed);

    internal void CountRequest() => Interlocked.Increment(ref _requests);

    internal void CountResponse() => Interlocked.Increment(ref _responses);

    internal void CountErrorSent() => Interlocked.Increment(ref _errorsSent);

    internal void CountRequestTimeout() => Interlocked.Increment(ref _requestTimeouts);

    internal void CountConnectionError() => Interlocked.Increment(ref _connectionErrors);

    internal void CountCookiesIssued(int count) => Interlocked.Add(ref _cookiesIssued, count);

    internal void CountCertificateReload() => Interlocked.Increment(ref _certificateReloads);

    internal void CountCertificateReloadFailure() => Interlocked.Increment(ref _certificateReloadFailures);
}
