using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tempus.Native.Tests;

public sealed class LibcSocketTests
{
    [Fact]
    public void MessageHeaderMirrorsMatchTheLinuxLayout()
    {
        // struct iovec { void *iov_base; size_t iov_len; }
        Assert.Equal(16, Marshal.SizeOf<Interop.Libc.IoVec>());
        // struct msghdr: name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48; size 56.
        Assert.Equal(56, Marshal.SizeOf<Interop.Libc.MsgHdr>());
        Assert.Equal(8, (int)Marshal.OffsetOf<Interop.Libc.MsgHdr>(nameof(Interop.Libc.MsgHdr.NameLength)));
        Assert.Equal(16, (int)Marshal.OffsetOf<Interop.Libc.MsgHdr>(nameof(Interop.Libc.MsgHdr.Iov)));
        Assert.Equal(32, (int)Marshal.OffsetOf<Interop.Libc.MsgHdr>(nameof(Interop.Libc.MsgHdr.Control)));
        Assert.Equal(40, (int)Marshal.OffsetOf<Interop.Libc.MsgHdr>(nameof(Interop.Libc.MsgHdr.ControlLength)));
        Assert.Equal(48, (int)Marshal.OffsetOf<Interop.Libc.MsgHdr>(nameof(Interop.Libc.MsgHdr.Flags)));
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
        Assert.Equal(16, Marshal.SizeOf<Interop.Libc.CmsgHdr>());
        // struct timespec { time_t tv_sec; long tv_nsec; }
        Assert.Equal(16, Marshal.SizeOf<Interop.Libc.Timespec>());
    }

    [Fact]
    public void KernelReceiveTimestampIsTheRealtimeClockAtArrival()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal(0, Interop.Libc.EnableReceiveTimestamps(receiver.SafeHandle));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        byte[] buffer = new byte[64];
        Assert.Equal(-1, Interop.Libc.ReceiveTimestamped(receiver.SafeHandle, buffer, out _, out int errno));
        Assert.Equal(Interop.Libc.EAGAIN, errno);

        long before = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);
        sender.SendTo(new byte[] { 1, 2, 3 }, receiver.LocalEndPoint!);
        Assert.True(receiver.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead));
        long after = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);

        int received = Interop.Libc.ReceiveTimestamped(receiver.SafeHandle, buffer, out long timestamp, out errno);
        Assert.Equal(3, received);
        Assert.Equal(0, errno);
        Assert.Equal(new byte[] { 1, 2, 3 }, buffer[..3]);
        Assert.InRange(timestamp, before - ClockReads.CrossCpuSlackNanoseconds, after + ClockReads.CrossCpuSlackNanoseconds);
    }

    [Fact]
    public void WithoutTheOptionThereIsNoTimestamp()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.SendTo(new byte[] { 9 }, receiver.LocalEndPoint!);
        Assert.True(receiver.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead));
        Assert.Equal(1, Interop.Libc.ReceiveTimestamped(receiver.SafeHandle, new byte[8], out long timestamp, out _));
        Assert.Equal(0, timestamp);
    }
}
