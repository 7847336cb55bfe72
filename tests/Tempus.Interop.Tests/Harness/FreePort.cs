using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tempus.Interop.Tests.Harness;

public static class FreePort
{
    // How long a fixed port (123 for ntpd and for tempusd under ntpdig) may stay taken before the test
    // fails: long enough for a peer of a previous test, or of another test run on the same machine, to exit.
    public static readonly TimeSpan FixedPortWait = TimeSpan.FromSeconds(30);

    // A UDP port the kernel considers free on the address now. Another process could take it before the
    // peer binds it; on a test machine's loopback that is rare enough, and the peer's bind error says so.
    public static int Udp(IPAddress address)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    // A TCP port free on the address now (for an NTS-KE listener); same caveat as Udp.
    public static int Tcp(IPAddress address)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    // Waits up to `within` for the port to be bindable, then fails naming the peer that needs it.
    public static Task RequireUdpFreeAsync(IPAddress address, int port, string neededBy, TimeSpan within) =>
        RequireFreeAsync(SocketType.Dgram, address, port, neededBy, within);

    // The same for a TCP listener (NTS-KE): a socket in TIME_WAIT does not count, listeners set SO_REUSEADDR.
    public static Task RequireTcpFreeAsync(IPAddress address, int port, string neededBy, TimeSpan within) =>
        RequireFreeAsync(SocketType.Stream, address, port, neededBy, within);

    private static async Task RequireFreeAsync(SocketType type, IPAddress address, int port, string neededBy, TimeSpan within)
    {
        string protocol = type == SocketType.Stream ? "TCP" : "UDP";
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            SocketError error = TryBind(type, address, port);
            if (error == SocketError.Success)
            {
                return;
            }

            if (error != SocketError.AddressAlreadyInUse || stopwatch.Elapsed >= within)
            {
                throw new InteropSetupException(
                    $"{neededBy} needs {protocol} {address}:{port}, which is " +
                    (error == SocketError.AddressAlreadyInUse ? $"still in use after {within.TotalSeconds:F0} s" : $"not bindable ({error}; run as root)") +
                    $": see `ss -{(type == SocketType.Stream ? 't' : 'u')}lpn 'sport = :{port}'` and stop the other server");
            }

            await Task.Delay(500);
        }
    }

    private static SocketError TryBind(SocketType type, IPAddress address, int port)
    {
        try
        {
            using var socket = new Socket(address.AddressFamily, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
            if (type == SocketType.Stream)
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(new IPEndPoint(address, port));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
