using System.Buffers.Binary;
using System.Text.Json;

namespace Tempus.Control;

/// <summary>What is wrong with a control message: a frame or JSON that breaks the protocol.</summary>
public sealed class ControlProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Where and why the message was rejected.</param>
    public ControlProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">Where and why the message was rejected.</param>
    /// <param name="inner">The parser's exception.</param>
    public ControlProtocolException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ControlProtocolException()
    {
    }

    /// <summary>Whether the stream can no longer be read frame by frame (truncated or oversize), so the connection must close.</summary>
    public bool BreaksFraming { get; init; }

    /// <summary>The <see cref="ControlErrorCodes"/> value an error response carries for this problem.</summary>
    public string Code { get; init; } = ControlErrorCodes.Invalid;
}

/// <summary>The length-prefixed framing of the control protocol and the JSON of its messages.</summary>
public static class ControlFraming
{
    /// <summary>
    /// Reads one frame from the start of <paramref name="buffer"/>: <c>false</c> and nothing consumed when more
    /// bytes are needed; throws <see cref="ControlProtocolException"/> when the length prefix exceeds
    /// <paramref name="maxLength"/>.
    /// </summary>
    /// <param name="buffer">Bytes received so far.</param>
    /// <param name="maxLength">Largest payload accepted.</param>
    /// <param name="payload">The payload, a slice of <paramref name="buffer"/>.</param>
    /// <param name="consumed">Bytes the frame occupies (prefix and payload).</param>
    public static bool TryReadFrame(ReadOnlySpan<byte> buffer, int maxLength, out ReadOnlySpan<byte> payload, out int consumed)
    {
        payload = default;
        consumed = 0;
        if (buffer.Length < ControlProtocol.LengthPrefixSize)
        {
            return false;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(buffer);
        if (length > (uint)maxLength)
        {
            throw new ControlProtocolException($"control message length prefix {length} exceeds the {maxLength}-byte limit") { BreaksFraming = true, Code = ControlErrorCodes.TooLarge };
        }

        if (buffer.Length - ControlProtocol.LengthPrefixSize < (int)length)
        {
            return false;
        }

        payload = buffer.Slice(ControlProtocol.LengthPrefixSize, (int)length);
        consumed = ControlProtocol.LengthPrefixSize + (int)length;
        return true;
    }

    /// <summary>
    /// Reads one frame from a stream: null at a clean end of stream before any byte of a frame; throws
    /// <see cref="ControlProtocolException"/> for a frame cut short or over <paramref name="maxLength"/>.
    /// </summary>
    /// <param name="stream">The connection.</param>
    /// <param name="maxLength">Largest payload accepted.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static async Task<byte[]?> ReadFrameAsync(Stream stream, int maxLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] prefix = new byte[ControlProtocol.LengthPrefixSize];
        int got = await stream.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < prefix.Length)
        {
            throw new ControlProtocolException($"control message truncated in its length prefix: {got} of {prefix.Length} bytes before the end of the stream") { BreaksFraming = true };
        }

        _ = TryReadFrame(prefix, maxLength, out _, out _);
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(prefix);
        byte[] payload = new byte[length];
        got = await stream.ReadAtLeastAsync(payload, length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got < length)
        {
            throw new ControlProtocolException($"control message truncated: {got} of {length} payload bytes before the end of the stream") { BreaksFraming = true };
        }

        return payload;
    }

    /// <summary>Writes one frame (prefix and payload) in one write.</summary>
    /// <param name="stream">The connection.</param>
    /// <param name="payload">The JSON bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public static async Task WriteFrameAsync(Stream stream, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] frame = Frame(payload.Span);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prefixes <paramref name="payload"/> with its length; throws when it is over the protocol's limit.</summary>
    /// <param name="payload">The JSON bytes.</param>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > ControlProtocol.MaxMessageLength)
        {
            throw new ControlProtocolException($"control message of {payload.Length} bytes exceeds the {ControlProtocol.MaxMessageLength}-byte limit");
        }

        byte[] frame = new byte[ControlProtocol.LengthPrefixSize + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(ControlProtocol.LengthPrefixSize));
        return frame;
    }

    /// <summary>The JSON of a request.</summary>
    /// <param name="request">The request.</param>
    public static byte[] Serialize(ControlRequest request) =>
        JsonSerializer.SerializeToUtf8Bytes(request, ControlJsonContext.Default.ControlRequest);

    /// <summary>The JSON of a response.</summary>
    /// <param name="response">The response.</param>
    public static byte[] Serialize(ControlResponse response) =>
        JsonSerializer.SerializeToUtf8Bytes(response, ControlJsonContext.Default.ControlResponse);

    /// <summary>Parses a request; throws <see cref="ControlProtocolException"/> naming the position of malformed JSON.</summary>
    /// <param name="json">The payload of a frame.</param>
    public static ControlRequest ParseRequest(ReadOnlySpan<byte> json) =>
        Parse(json, "request", static j => JsonSerializer.Deserialize(j, ControlJsonContext.Default.ControlRequest));

    /// <summary>Parses a response; throws <see cref="ControlProtocolException"/> naming the position of malformed JSON.</summary>
    /// <param name="json">The payload of a frame.</param>
    public static ControlResponse ParseResponse(ReadOnlySpan<byte> json) =>
        Parse(json, "response", static j => JsonSerializer.Deserialize(j, ControlJsonContext.Default.ControlResponse));

    private delegate T? Parser<T>(ReadOnlySpan<byte> json);

    private static T Parse<T>(ReadOnlySpan<byte> json, string what, Parser<T> parse)
        where T : class
    {
        if (json.IsEmpty)
        {
            throw new ControlProtocolException($"malformed control {what}: empty message (expected a JSON object)");
        }

        try
        {
            return parse(json) ?? throw new ControlProtocolException($"malformed control {what}: null (expected a JSON object)");
        }
        catch (JsonException e)
        {
            // The JSON reader names the line and byte position; the message never echoes the peer's bytes.
            throw new ControlProtocolException($"malformed control {what}: {e.Message}", e);
        }
    }
}
