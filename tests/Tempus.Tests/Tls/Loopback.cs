using System.Net;
using System.Net.Sockets;
using Tempus.Tls;

namespace Tempus.Tests.Tls;

/// <summary>A TCP listener on 127.0.0.1 with an ephemeral port, and helpers to run one server session on it.</summary>
internal sealed class Loopback : IDisposable
{
    private readonly Socket _listener;

    public Loopback()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(8);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
    }

    public int Port { get; }

    /// <summary>
    /// A loopback TCP port that refuses connections for as long as the returned socket is held: bound, never listening.
    /// A port bound and closed again could be taken by a listener of a test running in parallel before it is used.
    /// </summary>
    public static Socket RefusingPort(out int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return socket;
    }

    /// <summary>Accepts one connection and runs the server handshake on it.</summary>
    public async Task<TlsSession> AcceptTlsAsync(TlsServerContext server)
    {
        Socket socket = await _listener.AcceptAsync();
        return await server.AcceptAsync(socket);
    }

    /// <summary>Accepts one connection and returns the raw socket (for a server that never answers).</summary>
    public Task<Socket> AcceptRawAsync() => _listener.AcceptAsync();

    public void Dispose() => _listener.Dispose();
}
