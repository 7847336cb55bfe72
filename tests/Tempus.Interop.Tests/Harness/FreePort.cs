using System.Net;
using System.Net.Sockets;

namespace Tempus.Interop.Tests.Harness;

public static class FreePort
{
    // A UDP port the kernel considers free on the address now. Another process could take it before the
    // peer binds it; on a test machine's loopback that is rare enough, and the peer's bind error says so.
    public static int Udp(IPAddress address)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    // Fails with the name of the peer that needs the port when something already holds it.
    public static void RequireUdpFree(IPAddress address, int port, string neededBy)
    {
        try
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw new InteropSetupException(
                $"{neededBy} needs UDP {address}:{port}, which is {(e.SocketErrorCode == SocketError.AccessDenied ? "not bindable (run as root)" : "in use")}: " +
                $"see `ss -ulpn 'sport = :{port}'` and stop the other NTP server", e);
        }
    }
}
