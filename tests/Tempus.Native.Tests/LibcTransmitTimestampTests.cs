using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tempus.Native.Tests;

public sealed class LibcTransmitTimestampTests
{
    [Fact]
    public void SockExtendedErrMirrorsTheLinuxLayout()
    {
        // struct sock_extended_err { u32 ee_errno; u8 ee_origin, ee_type, ee_code, ee_pad; u32 ee_info; u32 ee_data; }
        Assert.Equal(16, Marshal.SizeOf<Interop.Libc.SockExtendedErr>());
        Assert.Equal(4, (int)Marshal.OffsetOf<Interop.Libc.SockExtendedErr>(nameof(Interop.Libc.SockExtendedErr.Origin)));
        Assert.Equal(8, (int)Marshal.OffsetOf<Interop.Libc.SockExtendedErr>(nameof(Interop.Libc.SockExtendedErr.Info)));
        Assert.Equal(12, (int)Marshal.OffsetOf<Interop.Libc.SockExtendedErr>(nameof(Interop.Libc.SockExtendedErr.Data)));
    }

    [Fact]
    public void EachSentDatagramLeavesItsRealtimeSendTimeNumberedFromZeroOnTheErrorQueue()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        sender.Connect(receiver.LocalEndPoint!);
        Assert.Equal(0, Interop.Libc.EnableTransmitTimestamps(sender.SafeHandle));

        for (uint n = 0; n < 3; n++)
        {
            long before = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);
            sender.Send(new byte[] { 1, 2, 3 });
            long after = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);

            // Loopback stamps in the send call itself: the entry is there as soon as it returns.
            Assert.Equal(1, Interop.Libc.ReadTransmitTimestamp(sender.SafeHandle, out long sent, out uint id, out int errno));
            Assert.Equal(0, errno);
            Assert.Equal(n, id);
            Assert.InRange(sent, before - ClockReads.CrossCpuSlackNanoseconds, after + ClockReads.CrossCpuSlackNanoseconds);
            Assert.Equal(-1, Interop.Libc.ReadTransmitTimestamp(sender.SafeHandle, out _, out _, out errno));
            Assert.Equal(Interop.Libc.EAGAIN, errno);
        }

        // The datagrams themselves went out whole, and the receive path is unchanged.
        Assert.True(receiver.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead));
        Assert.Equal(3, receiver.Receive(new byte[16]));
    }

    [Fact]
    public void ReceiveTimestampsStillComeWithTransmitTimestampsOn()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal(0, Interop.Libc.EnableReceiveTimestamps(socket.SafeHandle));
        Assert.Equal(0, Interop.Libc.EnableTransmitTimestamps(socket.SafeHandle));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        long before = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);
        peer.SendTo(new byte[] { 7 }, socket.LocalEndPoint!);
        Assert.True(socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead));
        long after = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);

        Assert.Equal(1, Interop.Libc.ReceiveTimestamped(socket.SafeHandle, new byte[8], out long received, out _));
        Assert.InRange(received, before - ClockReads.CrossCpuSlackNanoseconds, after + ClockReads.CrossCpuSlackNanoseconds);
    }

    [Fact]
    public void WithoutTheOptionTheErrorQueueStaysEmpty()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.SendTo(new byte[] { 9 }, receiver.LocalEndPoint!);

        Assert.Equal(-1, Interop.Libc.ReadTransmitTimestamp(sender.SafeHandle, out long sent, out _, out int errno));
        Assert.Equal(Interop.Libc.EAGAIN, errno);
        Assert.Equal(0, sent);
    }
}
