using System.Net;
using System.Net.Sockets;
using Tempus.Clock;
using Tempus.Sources;
using Tempus.Sources.Network;
using Tempus.Testing;

namespace Tempus.Tests.Sources;

/// <summary>T1 from the kernel's transmit timestamp: what it changes in a sample, and when it is refused.</summary>
public sealed class NtpSourceTransmitTimeTests : IDisposable
{
    private const double SendLag = 0.0003;
    private readonly SourceLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void TheKernelsTransmitTimeRemovesTheSendLagFromOffsetAndDelay()
    {
        _lab.ServerError = 0.002;
        NtpSource source = _lab.Source(SourceLab.Definition());

        SourceResponseOutcome outcome = PollWithSendLag(source, kernelStamp: true);

        Assert.Equal(SourceResponseOutcome.Accepted, outcome);
        NtpSample sample = Assert.NotNull(source.LastSample);
        // A symmetric 10 ms path from the moment the datagram left: no bias, and the delay is the path's.
        Assert.Equal(0.002, sample.Offset, 9);
        Assert.Equal(0.020, sample.Delay, 9);
        Assert.True(source.LastKernelTransmitTimestamp);
        Assert.True(source.Report(_lab.LocalNs).KernelTxTimestamp);
    }

    [Fact]
    public void WithoutItTheSendLagLengthensTheDelayAndHalfOfItBecomesOffset()
    {
        _lab.ServerError = 0.002;
        NtpSource source = _lab.Source(SourceLab.Definition());

        SourceResponseOutcome outcome = PollWithSendLag(source, kernelStamp: false);

        Assert.Equal(SourceResponseOutcome.Accepted, outcome);
        NtpSample sample = Assert.NotNull(source.LastSample);
        Assert.Equal(0.002 + SendLag / 2, sample.Offset, 9);
        Assert.Equal(0.020 + SendLag, sample.Delay, 9);
        Assert.False(source.LastKernelTransmitTimestamp);
        Assert.False(source.Report(_lab.LocalNs).KernelTxTimestamp);
    }

    [Theory]
    [InlineData(-0.002)]
    [InlineData(1.5)]
    public void AStampTooFarFromTheReadT1IsNotTheRequestsAndIsIgnored(double lagSeconds)
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        _lab.AdvanceToNextPoll(source);
        _lab.Request(source);

        Assert.False(source.SetKernelTransmitTime(_lab.LocalNs + (long)(lagSeconds * 1e9)));
        Assert.False(source.AwaitingResponseHasKernelTransmitTime);
    }

    [Fact]
    public void AStampWithNoRequestOutstandingIsIgnored()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));

        Assert.False(source.SetKernelTransmitTime(_lab.LocalNs));
        Assert.False(source.AwaitingResponse);
    }

    [Fact]
    public void TheNextRequestStartsWithTheReadT1Again()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        PollWithSendLag(source, kernelStamp: true);
        _lab.AdvanceToNextPoll(source);
        _lab.Request(source);

        Assert.True(source.AwaitingResponse);
        Assert.False(source.AwaitingResponseHasKernelTransmitTime);
    }

    [Fact]
    public void ASourceSocketHandsBackTheSendTimeOfItsLastDatagramOnce()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using SourceSocket socket = SourceSocket.Open((IPEndPoint)server.LocalEndPoint!, RealtimeClock.Instance);
        Assert.True(socket.KernelTransmitTimestamps);
        Assert.False(socket.TryTakeTransmitTimestamp(out _));

        for (int i = 0; i < 2; i++)
        {
            long before = RealtimeClock.Instance.UnixNanoseconds;
            socket.Send(new byte[48]);
            long after = RealtimeClock.Instance.UnixNanoseconds;

            Assert.True(socket.TryTakeTransmitTimestamp(out long sent));
            Assert.InRange(sent, before - ClockReads.CrossCpuSlackNanoseconds, after + ClockReads.CrossCpuSlackNanoseconds);
            Assert.False(socket.TryTakeTransmitTimestamp(out _));
        }
    }

    /// <summary>One exchange whose request leaves <see cref="SendLag"/> after T1 was read, then a symmetric 10 ms path.</summary>
    private SourceResponseOutcome PollWithSendLag(NtpSource source, bool kernelStamp)
    {
        _lab.AdvanceToNextPoll(source);
        byte[] request = _lab.Request(source);
        _lab.Advance(SendLag);
        if (kernelStamp)
        {
            Assert.True(source.SetKernelTransmitTime(_lab.LocalNs));
            Assert.True(source.AwaitingResponseHasKernelTransmitTime);
        }

        byte[] response = _lab.Serve(request, 0.010, 0.0001);
        _lab.Advance(0.010 + 0.0001 + 0.010);
        return _lab.Deliver(source, response);
    }
}
