using System.Net;
using System.Net.Sockets;

namespace Tempus.Native.Tests;

/// <summary>recvmmsg/sendmmsg through <see cref="DatagramBatch"/> on loopback sockets.</summary>
public sealed class DatagramBatchTests
{
    [Fact]
    public void OneReceiveReturnsSeveralQueuedDatagramsWithSendersAndKernelTimestamps()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal(0, Interop.Libc.EnableReceiveTimestamps(receiver.SafeHandle));
        using var senderA = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var senderB = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var batch = new DatagramBatch(8, 256);

        long before = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);
        senderA.SendTo(new byte[] { 1 }, receiver.LocalEndPoint!);
        senderB.SendTo(new byte[] { 2, 2 }, receiver.LocalEndPoint!);
        senderA.SendTo(new byte[] { 3, 3, 3 }, receiver.LocalEndPoint!);
        int received = ReceiveAtLeast(receiver, batch, 3);
        long after = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);

        Assert.Equal(3, received);
        int portA = ((IPEndPoint)senderA.LocalEndPoint!).Port;
        int portB = ((IPEndPoint)senderB.LocalEndPoint!).Port;
        Assert.Equal(new byte[] { 1 }, batch.ReceivedData(0).ToArray());
        Assert.Equal(new byte[] { 2, 2 }, batch.ReceivedData(1).ToArray());
        Assert.Equal(new byte[] { 3, 3, 3 }, batch.ReceivedData(2).ToArray());
        Assert.Equal(portA, Port(batch.ReceivedAddress(0)));
        Assert.Equal(portB, Port(batch.ReceivedAddress(1)));
        Assert.Equal(portA, Port(batch.ReceivedAddress(2)));
        for (int i = 0; i < 3; i++)
        {
            Assert.False(batch.IsTruncated(i));
            Assert.InRange(batch.ReceiveTimestamp(i), before - ClockReads.CrossCpuSlackNanoseconds, after + ClockReads.CrossCpuSlackNanoseconds);
        }
    }

    [Fact]
    public void QueuedRepliesGoBackToEachSenderInOneSend()
    {
        using var server = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        server.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var client4 = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var client6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        client4.SendTo(new byte[] { 4 }, new IPEndPoint(IPAddress.Loopback, port));
        client6.SendTo(new byte[] { 6 }, new IPEndPoint(IPAddress.IPv6Loopback, port));
        using var batch = new DatagramBatch(4, 128);
        int received = ReceiveAtLeast(server, batch, 2);
        Assert.Equal(2, received);

        for (int i = 0; i < received; i++)
        {
            Span<byte> reply = batch.SendBuffer(i);
            reply[0] = (byte)(batch.ReceivedData(i)[0] + 100);
            batch.QueueSend(i, 1, batch.ReceivedAddress(i));
        }

        Assert.Equal(2, batch.QueuedCount);
        Assert.Equal(2, batch.SendQueued(server.SafeHandle, out int failed, out _));
        Assert.Equal(0, failed);
        Assert.Equal(0, batch.QueuedCount);

        byte[] buffer = new byte[8];
        client4.ReceiveTimeout = 5000;
        client6.ReceiveTimeout = 5000;
        Assert.Equal(1, client4.Receive(buffer));
        Assert.Equal(104, buffer[0]);
        Assert.Equal(1, client6.Receive(buffer));
        Assert.Equal(106, buffer[0]);
    }

    [Fact]
    public void ADatagramLongerThanTheSlotIsMarkedTruncated()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var batch = new DatagramBatch(2, 64);
        sender.SendTo(new byte[100], receiver.LocalEndPoint!);
        Assert.Equal(1, ReceiveAtLeast(receiver, batch, 1));
        Assert.True(batch.IsTruncated(0));
        Assert.Equal(64, batch.ReceivedData(0).Length);
    }

    [Fact]
    public void AnEmptyNonBlockingReceiveReportsEagainAndAnInjectedSlotReadsBack()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var batch = new DatagramBatch(2, 64);
        Assert.Equal(-1, batch.Receive(receiver.SafeHandle, Interop.Libc.MSG_DONTWAIT, out int errno));
        Assert.Equal(Interop.Libc.EAGAIN, errno);

        byte[] address = [2, 0, 0x30, 0x39, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        batch.SetReceived(1, [7, 8, 9], address, 1_700_000_000_123_456_789);
        Assert.Equal(new byte[] { 7, 8, 9 }, batch.ReceivedData(1).ToArray());
        Assert.Equal(address, batch.ReceivedAddress(1).ToArray());
        Assert.Equal(1_700_000_000_123_456_789, batch.ReceiveTimestamp(1));
        batch.SetReceived(0, [1], address, 0);
        Assert.Equal(0, batch.ReceiveTimestamp(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.ReceivedData(2));
    }

    private static int ReceiveAtLeast(Socket socket, DatagramBatch batch, int count)
    {
        // Loopback delivery is synchronous, but wait a little in case of scheduling; bounded.
        for (int attempt = 0; attempt < 100; attempt++)
        {
            batch.ResetReceive(batch.Capacity);
            int n = batch.Receive(socket.SafeHandle, Interop.Libc.MSG_DONTWAIT, out int errno);
            if (n >= count)
            {
                return n;
            }

            Assert.True(n > 0 || errno == Interop.Libc.EAGAIN, $"recvmmsg errno {errno}");
            Assert.True(n <= 0, $"received {n} of {count} datagrams in one call");
            socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead);
        }

        return 0;
    }

    private static int Port(ReadOnlySpan<byte> sockaddr) => (sockaddr[2] << 8) | sockaddr[3];
}
