using System.Buffers.Binary;
using System.Text;
using Tempus.Control;

namespace Tempus.Tests.Control;

/// <summary>The length-prefixed framing and the JSON of requests and responses.</summary>
public sealed class ControlFramingTests
{
    private static readonly byte[] s_request = ControlFraming.Serialize(new ControlRequest { Version = 1, Command = "online", Args = new ControlRequestArgs { Address = "192.0.2.1" } });

    [Fact]
    public void RequestRoundTripsThroughAFrame()
    {
        byte[] frame = ControlFraming.Frame(s_request);

        Assert.Equal((uint)s_request.Length, BinaryPrimitives.ReadUInt32BigEndian(frame));
        Assert.True(ControlFraming.TryReadFrame(frame, ControlProtocol.MaxMessageLength, out ReadOnlySpan<byte> payload, out int consumed));
        Assert.Equal(frame.Length, consumed);
        ControlRequest parsed = ControlFraming.ParseRequest(payload);
        Assert.Equal(1, parsed.Version);
        Assert.Equal("online", parsed.Command);
        Assert.Equal("192.0.2.1", parsed.Args!.Address);
    }

    [Fact]
    public void RequestJsonHasTheDocumentedShape()
    {
        string json = Encoding.UTF8.GetString(ControlFraming.Serialize(new ControlRequest { Version = 1, Command = "tracking" }));

        Assert.Equal("{\"version\":1,\"command\":\"tracking\",\"args\":null}", json);
    }

    [Fact]
    public void EveryTruncatedPrefixOfAFrameNeedsMoreBytesAndConsumesNothing()
    {
        byte[] frame = ControlFraming.Frame(s_request);
        for (int length = 0; length < frame.Length; length++)
        {
            Assert.False(ControlFraming.TryReadFrame(frame.AsSpan(0, length), ControlProtocol.MaxMessageLength, out _, out int consumed));
            Assert.Equal(0, consumed);
        }
    }

    [Fact]
    public void LengthPrefixOverTheLimitIsRejectedAsTooLarge()
    {
        byte[] prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, ControlProtocol.MaxMessageLength + 1);

        var e = Assert.Throws<ControlProtocolException>(() => ControlFraming.TryReadFrame(prefix, ControlProtocol.MaxMessageLength, out _, out _));
        Assert.Equal(ControlErrorCodes.TooLarge, e.Code);
        Assert.True(e.BreaksFraming);
        Assert.Contains("1048577", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WritingAMessageOverTheLimitIsRefused()
    {
        Assert.Throws<ControlProtocolException>(() => ControlFraming.Frame(new byte[ControlProtocol.MaxMessageLength + 1]));
    }

    [Fact]
    public async Task StreamEndingBeforeAnyByteIsACleanEnd()
    {
        Assert.Null(await ControlFraming.ReadFrameAsync(new MemoryStream([]), ControlProtocol.MaxMessageLength, CancellationToken.None));
    }

    [Theory]
    [InlineData(1, "length prefix: 1 of 4")]
    [InlineData(3, "length prefix: 3 of 4")]
    [InlineData(4, "0 of ")]
    [InlineData(10, "6 of ")]
    public async Task StreamEndingInsideAFrameIsTruncation(int length, string expected)
    {
        byte[] frame = ControlFraming.Frame(s_request);

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => ControlFraming.ReadFrameAsync(new MemoryStream(frame[..length]), ControlProtocol.MaxMessageLength, CancellationToken.None));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.True(e.BreaksFraming);
    }

    [Fact]
    public async Task TwoFramesInOneStreamAreReadOneAfterTheOther()
    {
        byte[] frame = ControlFraming.Frame(s_request);
        var stream = new MemoryStream([.. frame, .. frame]);

        Assert.Equal(s_request, await ControlFraming.ReadFrameAsync(stream, ControlProtocol.MaxMessageLength, CancellationToken.None));
        Assert.Equal(s_request, await ControlFraming.ReadFrameAsync(stream, ControlProtocol.MaxMessageLength, CancellationToken.None));
        Assert.Null(await ControlFraming.ReadFrameAsync(stream, ControlProtocol.MaxMessageLength, CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("{\"version\":\"one\"}")]
    [InlineData("{\"version\":1,\"command\":5}")]
    [InlineData("\u00ff\u00fe garbage")]
    public void MalformedRequestJsonIsRejectedWithTheCause(string json)
    {
        var e = Assert.Throws<ControlProtocolException>(() => ControlFraming.ParseRequest(Encoding.UTF8.GetBytes(json)));

        Assert.StartsWith("malformed control request", e.Message, StringComparison.Ordinal);
        Assert.False(e.BreaksFraming);
    }

    [Fact]
    public void ErrorResponseCarriesCodeAndMessageAndNoData()
    {
        string json = Encoding.UTF8.GetString(ControlFraming.Serialize(ControlResponse.Failure(ControlErrorCodes.Failed, "it broke")));

        Assert.Equal("{\"version\":1,\"status\":\"error\",\"code\":\"failed\",\"error\":\"it broke\"}", json);
        ControlResponse parsed = ControlFraming.ParseResponse(Encoding.UTF8.GetBytes(json));
        Assert.False(parsed.IsOk);
        Assert.Null(parsed.Data);
    }
}
