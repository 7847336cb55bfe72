using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Tempus.Protocol;

/// <summary>
/// Parses the NTS-KE request a server reads from a client (RFC 8915 §4) as it arrives over TLS. One instance per
/// connection; not thread-safe.
/// </summary>
/// <remarks>
/// <para>Call <see cref="TryParse(ref SequenceReader{byte}, bool, out NtsKeRequest)"/> each time bytes arrive, always
/// with the reader at the start of the message: it returns <see langword="false"/> and consumes nothing until the
/// End of Message record is there, but validates each record as soon as it is complete and remembers how far it got,
/// so the work over all calls is linear. With a <c>PipeReader</c>: <c>AdvanceTo(buffer.Start, buffer.End)</c> after
/// a <see langword="false"/>.</para>
/// <para>Limits: <see cref="NtsKeLimits.MaxRequestLength"/>, <see cref="NtsKeLimits.MaxRecords"/>,
/// <see cref="NtsKeLimits.MaxRecordBodyLength"/>. A server that catches <see cref="NtsKeProtocolException"/>
/// answers with <see cref="NtsKeResponse.CreateError"/> of <see cref="NtsKeProtocolException.ErrorCode"/> and closes
/// the connection; the parser must not be used after an exception.</para>
/// </remarks>
public sealed class NtsKeRequestParser
{
    private readonly NtsKeMessageReader _reader = new(isRequest: true, NtsKeLimits.MaxRequestLength);

    /// <summary>How many bytes of the message have been validated so far: complete records before End of Message.</summary>
    public long Examined => _reader.Examined;

    /// <summary>Parses the request if it is complete.</summary>
    /// <param name="reader">The bytes received so far, from the start of the message; advanced past End of Message on success.</param>
    /// <param name="request">The request, when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> once End of Message has arrived; <see langword="false"/> if more bytes are needed.</returns>
    /// <exception cref="NtsKeProtocolException">The request is malformed; the message names the offset and the cause.</exception>
    public bool TryParse(ref SequenceReader<byte> reader, [NotNullWhen(true)] out NtsKeRequest? request) =>
        TryParse(ref reader, isFinalBlock: false, out request);

    /// <summary>Parses the request if it is complete, treating a missing End of Message as an error once the stream has ended.</summary>
    /// <param name="reader">The bytes received so far, from the start of the message; advanced past End of Message on success.</param>
    /// <param name="isFinalBlock"><see langword="true"/> when the peer has closed its side and no more bytes will come.</param>
    /// <param name="request">The request, when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> once End of Message has arrived; <see langword="false"/> if more bytes are needed.</returns>
    /// <exception cref="NtsKeProtocolException">The request is malformed, or <paramref name="isFinalBlock"/> is set and it is incomplete.</exception>
    public bool TryParse(ref SequenceReader<byte> reader, bool isFinalBlock, [NotNullWhen(true)] out NtsKeRequest? request)
    {
        request = _reader.TryReadMessage(ref reader, isFinalBlock) ? _reader.BuildRequest() : null;
        return request is not null;
    }
}
