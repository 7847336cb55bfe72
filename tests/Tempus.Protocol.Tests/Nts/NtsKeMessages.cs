using System.Buffers;
using System.Text.Json;

namespace Tempus.Protocol.Tests;

/// <summary>NTS-KE messages for the tests: the real Netnod exchange, writer output, and ways to feed them to parsers.</summary>
internal static class NtsKeMessages
{
    public static byte[] NetnodRequest => Load().GetProperty("request_hex").GetString() is string hex ? Convert.FromHexString(hex) : [];

    public static byte[] NetnodResponse => Load().GetProperty("response_hex").GetString() is string hex ? Convert.FromHexString(hex) : [];

    public static JsonElement Load()
    {
        using JsonDocument document = ReferenceFiles.LoadVectors("nts_ke_real_exchange_netnod_2019.json");
        return document.RootElement.Clone();
    }

    public static NtsKeRequest FullRequest => new()
    {
        NextProtocols = [NtsNextProtocol.Ntpv4],
        AeadAlgorithms = [NtsAeadAlgorithm.Aes128GcmSiv, NtsAeadAlgorithm.AesSivCmac256],
        CompliantAes128GcmSivExporter = true,
        Server = "time.example.net.",
        Port = 4123,
    };

    public static NtsKeResponse FullResponse => new()
    {
        NextProtocols = [NtsNextProtocol.Ntpv4],
        AeadAlgorithm = NtsAeadAlgorithm.Aes128GcmSiv,
        CompliantAes128GcmSivExporter = true,
        Server = "2001:db8::123",
        Port = 123,
        WarningCode = 7,
        Cookies = Enumerable.Range(1, 8).Select(i => Enumerable.Range(0, 96 + i).Select(b => (byte)(b * i)).ToArray()).ToArray(),
    };

    public static byte[] Write(NtsKeRequest request)
    {
        var buffer = new byte[NtsKeMessageWriter.GetRequestLength(request)];
        Assert.True(NtsKeMessageWriter.TryWriteRequest(buffer, request, out int written));
        Assert.Equal(buffer.Length, written);
        return buffer;
    }

    public static byte[] Write(NtsKeResponse response)
    {
        var buffer = new byte[NtsKeMessageWriter.GetResponseLength(response)];
        Assert.True(NtsKeMessageWriter.TryWriteResponse(buffer, response, out int written));
        Assert.Equal(buffer.Length, written);
        return buffer;
    }

    public static IEnumerable<(string Name, bool IsRequest, byte[] Message)> AllValid()
    {
        yield return ("Netnod request", true, NetnodRequest);
        yield return ("Netnod response", false, NetnodResponse);
        yield return ("full request", true, Write(FullRequest));
        yield return ("minimal request", true, Write(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256] }));
        yield return ("full response", false, Write(FullResponse));
        yield return ("error response", false, Write(NtsKeResponse.CreateError(NtsKeErrorCode.BadRequest)));
        yield return ("response without a common algorithm", false, Write(new NtsKeResponse { AeadAlgorithm = null }));
    }

    public static NtsKeRequest ParseRequest(byte[] message) => ParseRequest(new ReadOnlySequence<byte>(message));

    public static NtsKeRequest ParseRequest(ReadOnlySequence<byte> message)
    {
        var reader = new SequenceReader<byte>(message);
        Assert.True(new NtsKeRequestParser().TryParse(ref reader, isFinalBlock: true, out NtsKeRequest? request));
        Assert.Equal(message.Length, reader.Consumed);
        return request;
    }

    public static NtsKeResponse ParseResponse(byte[] message) => ParseResponse(new ReadOnlySequence<byte>(message));

    public static NtsKeResponse ParseResponse(ReadOnlySequence<byte> message)
    {
        var reader = new SequenceReader<byte>(message);
        Assert.True(new NtsKeResponseParser().TryParse(ref reader, isFinalBlock: true, out NtsKeResponse? response));
        Assert.Equal(message.Length, reader.Consumed);
        return response;
    }

    // Parses with a fresh parser; returns whether the message was complete, and how much was consumed.
    public static bool TryParse(bool isRequest, ReadOnlySequence<byte> bytes, bool isFinalBlock, out long consumed)
    {
        var reader = new SequenceReader<byte>(bytes);
        bool complete = isRequest
            ? new NtsKeRequestParser().TryParse(ref reader, isFinalBlock, out _)
            : new NtsKeResponseParser().TryParse(ref reader, isFinalBlock, out _);
        consumed = reader.Consumed;
        return complete;
    }

    /// <summary>A sequence of the given chunks, one segment each, so that records and headers straddle segment boundaries.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] data, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < data.Length).Distinct().Order().Prepend(0).Append(data.Length).ToArray();
        Segment? first = null;
        Segment? last = null;
        for (int i = 0; i + 1 < bounds.Length; i++)
        {
            var memory = data.AsMemory(bounds[i], bounds[i + 1] - bounds[i]);
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
