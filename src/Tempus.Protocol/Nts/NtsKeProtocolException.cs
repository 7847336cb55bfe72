namespace Tempus.Protocol;

/// <summary>
/// A malformed NTS-KE message. A server catches it, answers with an Error record carrying <see cref="ErrorCode"/>
/// and closes that connection only (RFC 8915 §4.1.3); a client abandons the key exchange.
/// </summary>
public sealed class NtsKeProtocolException : Exception
{
    /// <summary>Creates an exception for a parse failure.</summary>
    /// <param name="error">What was wrong.</param>
    /// <param name="offset">Where in the message it was found.</param>
    /// <param name="message">A description naming place and cause.</param>
    public NtsKeProtocolException(NtsKeProtocolError error, long offset, string message)
        : base(message)
    {
        Error = error;
        Offset = offset;
    }

    /// <summary>Creates an exception with a generic message; <see cref="Offset"/> is -1.</summary>
    public NtsKeProtocolException()
        : this("the NTS-KE message is malformed")
    {
    }

    /// <summary>Creates an exception with a message only; <see cref="Error"/> is <see cref="NtsKeProtocolError.InvalidRecordBody"/> and <see cref="Offset"/> is -1.</summary>
    /// <param name="message">The description.</param>
    public NtsKeProtocolException(string message)
        : this(NtsKeProtocolError.InvalidRecordBody, -1, message)
    {
    }

    /// <summary>Creates an exception wrapping another; <see cref="Error"/> is <see cref="NtsKeProtocolError.InvalidRecordBody"/> and <see cref="Offset"/> is -1.</summary>
    /// <param name="message">The description.</param>
    /// <param name="innerException">The underlying cause.</param>
    public NtsKeProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = NtsKeProtocolError.InvalidRecordBody;
        Offset = -1;
    }

    /// <summary>What was wrong with the message.</summary>
    public NtsKeProtocolError Error { get; }

    /// <summary>
    /// The offset of the offending record (or of the end of the data, for <see cref="NtsKeProtocolError.IncompleteMessage"/>),
    /// counted from the start of the message, or -1 if unknown.
    /// </summary>
    public long Offset { get; }

    /// <summary>The error code a server sends back for this failure (RFC 8915 §4.1.3).</summary>
    public NtsKeErrorCode ErrorCode =>
        Error == NtsKeProtocolError.UnrecognizedCriticalRecord ? NtsKeErrorCode.UnrecognizedCriticalRecord : NtsKeErrorCode.BadRequest;
}
