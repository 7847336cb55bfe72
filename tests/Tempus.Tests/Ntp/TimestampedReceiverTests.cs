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
        using var pair = new StampingPair();
        Socket client = pair.Client;

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
        using var pair = new StampingPair();
        Socket client = pair.Client;

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

    // A client socket connected to a bound loopback socket, with transmit timestamps on.
    private sealed class StampingPair : IDisposable
    {
        private readonly Socket _server = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public StampingPair()
        {
            _server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Client.Connect(_server.LocalEndPoint!);
            Assert.True(TimestampedReceiver.EnableTransmit(Client, RealtimeClock.Instance), "SO_TIMESTAMPING refused");
        }

        public Socket Client { get; } = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public void Dispose()
        {
            Client.Dispose();
            _server.Dispose();
        }
    }
}
