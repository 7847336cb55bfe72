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

    // Waits up to `within` for the port to be bindable, then fails naming the peer that needs it.
    public static async Task RequireUdpFreeAsync(IPAddress address, int port, string neededBy, TimeSpan within)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            SocketError error = TryBind(address, port);
            if (error == SocketError.Success)
            {
                return;
            }

            if (error != SocketError.AddressAlreadyInUse || stopwatch.Elapsed >= within)
            {
                throw new InteropSetupException(
                    $"{neededBy} needs UDP {address}:{port}, which is " +
                    (error == SocketError.AddressAlreadyInUse ? $"still in use after {within.TotalSeconds:F0} s" : $"not bindable ({error}; run as root)") +
                    $": see `ss -ulpn 'sport = :{port}'` and stop the other NTP server");
            }

            await Task.Delay(500);
        }
    }

    private static SocketError TryBind(IPAddress address, int port)
    {
        try
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(address, port));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
