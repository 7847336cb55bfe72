using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>
/// How one source's requests are protected and its responses checked: plain, symmetric-key MAC (RFC 5905 §7.3,
/// RFC 8573) or NTS (RFC 8915 §5.7). One instance per source; not thread-safe, like the <see cref="NtpSource"/> that
/// drives it.
/// </summary>
public interface IRequestAuthenticator
{
    /// <summary>The kind of authentication, as selection and <c>authdata</c> see it.</summary>
    SourceAuthentication Kind { get; }

    /// <summary>
    /// Whether a request can be written now. Only NTS can say no: without a session or cookies the driver must run
    /// NTS-KE first.
    /// </summary>
    bool CanSend { get; }

    /// <summary>
    /// Writes a request: <paramref name="header"/> (which carries our transmit timestamp) followed by whatever this
    /// kind of authentication adds.
    /// </summary>
    /// <param name="destination">The send buffer; 1280 bytes always suffice.</param>
    /// <param name="header">The request header.</param>
    /// <returns>The request's length in bytes.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="InvalidOperationException"><see cref="CanSend"/> is false.</exception>
    int WriteRequest(Span<byte> destination, in NtpPacketHeader header);

    /// <summary>
    /// Checks that a response whose origin timestamp matched our request is authentic for this kind of authentication.
    /// NTS also checks the Unique Identifier and takes the new cookies; an NTS NAK or other kiss-o'-death carrying our
    /// Unique Identifier passes (RFC 8915 §5.7 asks the client to obey it), and a NAK drops the session.
    /// </summary>
    /// <param name="response">The datagram.</param>
    /// <param name="header">The response header when the result is true.</param>
    /// <param name="failure">Why the response was rejected, when the result is false.</param>
    /// <returns>Whether the response is authentic.</returns>
    bool Verify(ReadOnlySpan<byte> response, out NtpPacketHeader header, out string? failure);
}
