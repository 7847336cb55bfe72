using System.Buffers;
using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Nts;

// Moves whole NTS-KE messages over a TLS session: the transport half that the Tempus.Protocol parsers leave out.
internal static class NtsKeStream
{
    private const int InitialBufferSize = 2048;

    public delegate bool TryParseMessage<T>(ref SequenceReader<byte> reader, bool isFinalBlock, out T? message)
        where T : class;

    // Reads until the parser has a complete message (RFC 8915 §4: messages are self-delimiting by End of Message),
    // handing it the buffer from the start of the message on every call as the parsers require. Bytes after End of
    // Message are ignored: each side sends one message only.
    public static async Task<T> ReadMessageAsync<T>(
        TlsSession session, int maxLength, TryParseMessage<T> parse, Action<ReadOnlyMemory<byte>>? onMalformed, CancellationToken cancellationToken)
        where T : class
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        int filled = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    // The parser throws before a message passes maxLength, so the buffer never grows past about that.
                    byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxLength + NtsKeRecord.HeaderSize + NtsKeLimits.MaxRecordBodyLength));
                    if (larger.Length <= buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(larger);
                        throw new NtsKeProtocolException(NtsKeProtocolError.MessageTooLong, filled, $"the message is longer than {maxLength} bytes without End of Message");
                    }

                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read = await session.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                filled += read;
                T? message;
                try
                {
                    message = TryParse(parse, buffer, filled, isFinalBlock: read == 0);
                }
                catch (NtsKeProtocolException)
                {
                    onMalformed?.Invoke(buffer.AsMemory(0, filled));
                    throw;
                }

                if (message is not null)
                {
                    return message;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    public static async Task WriteMessageAsync(TlsSession session, int length, WriteMessage write, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            write(buffer.AsSpan(0, length));
            await session.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    public delegate void WriteMessage(Span<byte> destination);

    private static T? TryParse<T>(TryParseMessage<T> parse, byte[] buffer, int length, bool isFinalBlock)
        where T : class
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(buffer, 0, length));
        return parse(ref reader, isFinalBlock, out T? message) ? message : null;
    }
}
