using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Tempus.Protocol;

/// <summary>
/// Parses the NTS-KE response a client reads from a server (RFC 8915 §4) as it arrives over TLS. One instance per
/// connection; not thread-safe.
/// </summary>
/// <remarks>
/// <para>Call <see cref="TryParse(ref SequenceReader{byte}, bool, out NtsKeResponse)"/> each time bytes arrive,
/// always with the reader at the start of the message: it returns <see langword="false"/> and consumes nothing until
/// the End of Message record is there, but validates each record as soon as it is complete and remembers how far it
/// got, so the work over all calls is linear. With a <c>PipeReader</c>: <c>AdvanceTo(buffer.Start, buffer.End)</c>
/// after a <see langword="false"/>.</para>
/// <para>Limits: <see cref="NtsKeLimits.MaxResponseLength"/>, <see cref="NtsKeLimits.MaxRecords"/>,
/// <see cref="NtsKeLimits.MaxRecordBodyLength"/>; cookies past <see cref="NtsKeLimits.MaxCookies"/> are ignored.
/// The parser must not be used after an exception.</para>
/// </remarks>
public sealed class NtsKeResponseParser
{
    private readonly NtsKeMessageReader _reader = new(isRequest: false, NtsKeLimits.MaxResponseLength);

    /// <summary>How many bytes of the message have been validated so far: complete records before End of Message.</summary>
    public long Examined => _reader.Examined;

    /// <summary>Parses the response if it is complete.</summary>
    /// <param name="reader">The bytes received so far, from the start of the message; advanced past End of Message on success.</param>
    /// <param name="response">The response, when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> once End of Message has arrived; <see langword="false"/> if more bytes are needed.</returns>
    /// <exception cref="NtsKeProtocolException">The response is malformed; the message names the offset and the cause.</exception>
    public bool TryParse(ref SequenceReader<byte> reader, [NotNullWhen(true)] out NtsKeResponse? response) =>
        TryParse(ref reader, isFinalBlock: false, out response);

    /// <summary>Parses the response if it is complete, treating a missing End of Message as an error once the stream has ended.</summary>
    /// <param name="reader">The bytes received so far, from the start of the message; advanced past End of Message on success.</param>
    /// <param name="isFinalBlock"><see langword="true"/> when the server has closed its side and no more bytes will come.</param>
    /// <param name="response">The response, when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> once End of Message has arrived; <see langword="false"/> if more bytes are needed.</returns>
    /// <exception cref="NtsKeProtocolException">The response is malformed, or <paramref name="isFinalBlock"/> is set and it is incomplete.</exception>
    public bool TryParse(ref SequenceReader<byte> reader, bool isFinalBlock, [NotNullWhen(true)] out NtsKeResponse? response)
    {
        response = _reader.TryReadMessage(ref reader, isFinalBlock) ? _reader.BuildResponse() : null;
        return response is not null;
    }
}
