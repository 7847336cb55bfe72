using System.Net;
using System.Net.Sockets;
using Tempus.Clock;
using Tempus.Ntp;
using Tempus.Protocol;
using Tempus.Testing;

namespace Tempus.Tests.Ntp;

/// <summary>The one-shot clients' T1 from the kernel's transmit timestamp, on loopback sockets.</summary>
public sealed class TimestampedReceiverTests
{
    [Fact]
    public void TheRequestsTransmitStampIsTakenOnceAndLiesBetweenTheReadsAroundTheSend()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(server.LocalEndPoint!);
        Assert.True(TimestampedReceiver.EnableTransmit(client, RealtimeClock.Instance), "SO_TIMESTAMPING refused");

        NtpTimestamp before = RealtimeClock.Instance.NtpNow;
        client.Send(new byte[48]);
        NtpTimestamp after = RealtimeClock.Instance.NtpNow;

        Assert.True(TimestampedReceiver.TryTakeTransmitTimestamp(client, before, out NtpTimestamp sent), "no transmit timestamp on the error queue");
        long slack = NtpTimestamp.SecondsToFixed(ClockReads.CrossCpuSlackNanoseconds / 1e9);
        Assert.InRange(sent - before, -slack, (after - before) + slack);

        // Taken: the queue is empty now.
        Assert.False(TimestampedReceiver.TryTakeTransmitTimestamp(client, before, out _));
    }

    [Fact]
    public void AStampFarFromTheReadBeforeTheSendIsNotTheRequests()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(server.LocalEndPoint!);
        Assert.True(TimestampedReceiver.EnableTransmit(client, RealtimeClock.Instance), "SO_TIMESTAMPING refused");

        // The read "before the send" claims 10 s later than the send: the stamp cannot be this request's.
        NtpTimestamp wrong = RealtimeClock.Instance.NtpNow + NtpTimestamp.SecondsToFixed(10);
        client.Send(new byte[48]);

        Assert.False(TimestampedReceiver.TryTakeTransmitTimestamp(client, wrong, out _));
    }

    [Fact]
    public void OnlyTheRealtimeClockGetsKernelStamps()
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        Assert.False(TimestampedReceiver.EnableTransmit(client, new SimulatedClock(new DateTime(2026, 11, 29, 0, 0, 0, DateTimeKind.Utc))));
    }
}
