using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Nts;

/// <summary>
/// An NTS-KE exchange failed. <see cref="Reason"/> sorts the cause and the message says it in words a user can act
/// on, e.g. "NTS-KE to time.example:4460 timed out after 5 s: is outbound TCP/4460 allowed by the firewall?".
/// RFC 8915 §4.2: whatever the cause, retry only after the backoff of <see cref="NtsKeBackoff"/>.
/// </summary>
public sealed class NtsKeException : Exception
{
    /// <summary>Creates an exception for <paramref name="reason"/> with a message naming the server and the remedy.</summary>
    /// <param name="reason">What went wrong.</param>
    /// <param name="peer">The NTS-KE server as <c>host:port</c>.</param>
    /// <param name="message">The user-facing description.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public NtsKeException(NtsKeFailureReason reason, string peer, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
        Peer = peer;
        TlsReason = (innerException as TlsHandshakeException)?.Reason;
    }

    /// <summary>Creates an exception with a message only; <see cref="Reason"/> is <see cref="NtsKeFailureReason.ProtocolError"/>.</summary>
    /// <param name="message">The description.</param>
    public NtsKeException(string message)
        : this(NtsKeFailureReason.ProtocolError, string.Empty, message)
    {
    }

    /// <summary>Creates an exception with a message and its cause; <see cref="Reason"/> is <see cref="NtsKeFailureReason.ProtocolError"/>.</summary>
    /// <param name="message">The description.</param>
    /// <param name="innerException">The underlying exception.</param>
    public NtsKeException(string message, Exception innerException)
        : this(NtsKeFailureReason.ProtocolError, string.Empty, message, innerException)
    {
    }

    /// <summary>Creates an exception with a generic message.</summary>
    public NtsKeException()
        : this("the NTS-KE exchange failed")
    {
    }

    /// <summary>What went wrong.</summary>
    public NtsKeFailureReason Reason { get; }

    /// <summary>The NTS-KE server as written in the message, <c>host:port</c>.</summary>
    public string Peer { get; }

    /// <summary>For <see cref="NtsKeFailureReason.TlsFailure"/> (and TLS-level timeouts and refusals): the TLS layer's reason.</summary>
    public TlsFailureReason? TlsReason { get; init; }

    /// <summary>For <see cref="NtsKeFailureReason.ServerError"/> from an Error record: the code the server sent (RFC 8915 §4.1.3).</summary>
    public NtsKeErrorCode? ServerErrorCode { get; init; }

    /// <summary>For <see cref="NtsKeFailureReason.ServerError"/> from a Warning record: the code the server sent (RFC 8915 §4.1.4).</summary>
    public ushort? ServerWarningCode { get; init; }

    /// <summary>
    /// Whether retrying the same request can succeed. RFC 8915 §4.1.3: after "unrecognized critical record" or "bad
    /// request" the client SHOULD NOT retry without modification; every other failure may be retried after backoff.
    /// </summary>
    public bool IsRetryable => ServerErrorCode is not (NtsKeErrorCode.UnrecognizedCriticalRecord or NtsKeErrorCode.BadRequest);
}
