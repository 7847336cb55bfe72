using System.Net;
using System.Net.Sockets;

namespace Tempus.Interop.Tests.Harness;

// A minimal unauthenticated mode-3 request that reads back the server's stratum, used only to learn when
// a peer has started serving. It is deliberately independent of Tempus's own client.
public static class SntpProbe
{
    // Returns the stratum byte of the response (0 is "unspecified", the kiss-o'-death/unsynchronized
    // value), or null if nothing came back in time.
    public static async Task<int?> StratumAsync(IPEndPoint server, TimeSpan timeout)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var request = new byte[48];
        request[0] = 0x23; // RFC 5905 §7.3: LI 0, VN 4, mode 3 (client)
        new Random().NextBytes(request.AsSpan(40, 8)); // transmit timestamp, matched below as the origin
        await socket.SendToAsync(request, server);

        var response = new byte[1024];
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                SocketReceiveFromResult received = await socket.ReceiveFromAsync(response, new IPEndPoint(server.Address, 0), deadline.Token);
                if (received.ReceivedBytes >= 48 && response.AsSpan(24, 8).SequenceEqual(request.AsSpan(40, 8)))
                {
                    return response[1];
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException)
        {
            // ICMP port unreachable: not listening yet.
            return null;
        }
    }

    public static async Task<int?> WaitForStratumAsync(IPEndPoint server, int stratum, TimeSpan within)
    {
        return await Poll.UntilAsync(
            () => StratumAsync(server, TimeSpan.FromMilliseconds(500)),
            result => result == stratum,
            within,
            TimeSpan.FromMilliseconds(250));
    }
}
