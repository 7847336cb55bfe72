using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tempus.Native.Tests;

public sealed class LibcEpollTests
{
    [Fact]
    public void EpollEventSizeIsTheKernelLayoutOfThisArchitecture()
    {
        // struct epoll_event { uint32_t events; epoll_data_t data; } is __attribute__((packed)) on x86_64 only.
        int expected = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
        Assert.Equal(expected, Interop.Libc.EpollEventSize);
    }

    [Fact]
    public void EpollReturnsTheMaskAndTheWholeCookieOfARegisteredDescriptor()
    {
        int epoll = Interop.Libc.EpollCreate();
        int eventFd = Interop.Libc.EventFd();
        Assert.True(epoll >= 0, $"epoll_create1: errno {-epoll}");
        Assert.True(eventFd >= 0, $"eventfd: errno {-eventFd}");
        try
        {
            const ulong cookie = 0x1122334455667788;
            Assert.Equal(0, Interop.Libc.EpollCtl(epoll, Interop.Libc.EPOLL_CTL_ADD, eventFd, Interop.Libc.EPOLLIN, cookie));
            byte[] events = new byte[4 * Interop.Libc.EpollEventSize];

            Assert.Equal(0, Interop.Libc.EpollWait(epoll, events, 0));

            Interop.Libc.SignalEventFd(eventFd);
            Assert.Equal(1, Interop.Libc.EpollWait(epoll, events, 1000));
            (uint mask, ulong data) = Interop.Libc.GetEpollEvent(events, 0);
            Assert.Equal(Interop.Libc.EPOLLIN, mask);
            Assert.Equal(cookie, data);
        }
        finally
        {
            Interop.Libc.Close(eventFd);
            Interop.Libc.Close(epoll);
        }
    }

    [Fact]
    public void AcceptOnAListenerWithNothingWaitingIsEagain()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();

        Assert.Equal(-Interop.Libc.EAGAIN, Interop.Libc.Accept(listener.SafeHandle, new byte[Interop.Libc.SockAddrStorageSize]));
    }

    // Repeats a non-blocking call while it answers EAGAIN. Loopback delivery is quick, but a deadline (not 100 sleeps
    // of 10 ms) leaves room for a loaded CI machine; only a broken run reaches it, and then returns the EAGAIN.
    private static nint WhileEagain(Func<nint> call)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        nint result;
        while ((result = call()) == -Interop.Libc.EAGAIN && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(10);
        }

        return result;
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public void AcceptGivesThePeerAddressAndANonBlockingSocketThatSendsAndReceives(string address)
    {
        IPAddress loopback = IPAddress.Parse(address);
        using var listener = new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen();
        using var client = new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);

        byte[] sockaddr = new byte[Interop.Libc.SockAddrStorageSize];
        int fd = (int)WhileEagain(() => Interop.Libc.Accept(listener.SafeHandle, sockaddr));

        Assert.True(fd >= 0, $"accept4: errno {-fd}");
        try
        {
            Assert.Equal(client.LocalEndPoint, Interop.Libc.ParseSockAddr(sockaddr));

            // SOCK_NONBLOCK: nothing sent yet is EAGAIN, not a blocked thread.
            byte[] buffer = new byte[16];
            Assert.Equal(-Interop.Libc.EAGAIN, Interop.Libc.Receive(fd, buffer));

            Assert.Equal(3, Interop.Libc.Send(fd, "abc"u8));
            byte[] received = new byte[3];
            Assert.Equal(3, client.Receive(received));
            Assert.Equal("abc"u8.ToArray(), received);

            client.Send("xyz"u8);
            nint count = WhileEagain(() => Interop.Libc.Receive(fd, buffer));

            Assert.Equal(3, count);
            Assert.Equal("xyz"u8.ToArray(), buffer[..3]);

            client.Shutdown(SocketShutdown.Send);
            count = WhileEagain(() => Interop.Libc.Receive(fd, buffer));

            Assert.Equal(0, count);
        }
        finally
        {
            Interop.Libc.Close(fd);
        }
    }
}
