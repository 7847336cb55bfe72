using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Server;

/// <summary>
/// Serves an <see cref="NtpServerEngine"/> on UDP sockets. One receive thread per socket with allocation-free
/// <c>recvmsg</c>/<c>SendTo</c> over reused buffers and <see cref="SocketAddress"/>; the receive timestamp comes from
/// the kernel (SO_TIMESTAMPNS) when serving the system clock. A bad datagram is dropped and counted; a socket
/// error on one datagram never stops the loop.
/// </summary>
public sealed partial class UdpNtpServer : IDisposable
{
    private const int ReceiveBufferSize = 2048;

    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(250);

    private readonly NtpServerEngine _engine;
    private readonly ISystemClock _clock;
    private readonly ILogger _logger;
    private readonly List<Socket> _sockets = new();
    private readonly List<Thread> _threads = new();
    private volatile bool _stopping;

    /// <summary>Binds the server's sockets; throws <see cref="SocketException"/> with the endpoint in the message on failure.</summary>
    /// <param name="engine">The protocol engine.</param>
    /// <param name="clock">Clock used for receive timestamps.</param>
    /// <param name="endpoints">Local endpoints to bind; an IPv6 any-address endpoint also serves IPv4 (dual mode).</param>
    /// <param name="logger">Where to log.</param>
    public UdpNtpServer(NtpServerEngine engine, ISystemClock clock, IEnumerable<IPEndPoint> endpoints, ILogger logger)
    {
        _engine = engine;
        _clock = clock;
        _logger = logger;
        try
        {
            foreach (IPEndPoint endpoint in endpoints)
            {
                var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                _sockets.Add(socket);
                if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                try
                {
                    socket.Bind(endpoint);
                }
                catch (SocketException e)
                {
                    throw new SocketException((int)e.SocketErrorCode, $"cannot bind NTP server to {endpoint}: {e.Message}");
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The endpoints actually bound (with the real port when port 0 was asked for).</summary>
    public IReadOnlyList<IPEndPoint> LocalEndpoints => _sockets.Select(s => (IPEndPoint)s.LocalEndPoint!).ToArray();

    /// <summary>Starts one receive thread per socket.</summary>
    public void Start()
    {
        foreach (Socket socket in _sockets)
        {
            var thread = new Thread(() => ReceiveLoop(socket))
            {
                IsBackground = true,
                Name = $"ntp-server {socket.LocalEndPoint}",
            };
            _threads.Add(thread);
            thread.Start();
            LogListening(_logger, socket.LocalEndPoint!);
        }
    }

    /// <summary>Stops the receive threads and closes the sockets.</summary>
    public void Dispose()
    {
        _stopping = true;
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }

        foreach (Thread thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(2));
        }
    }

    private void ReceiveLoop(Socket socket)
    {
        byte[] request = GC.AllocateArray<byte>(ReceiveBufferSize, pinned: true);
        // As long as a request can be: an NTS response may be as long as its request (RFC 8915 §5.5).
        byte[] response = GC.AllocateArray<byte>(ReceiveBufferSize, pinned: true);
        var address = new SocketAddress(socket.AddressFamily);

        // RFC 5905 T2 from the kernel (SO_TIMESTAMPNS) when the engine runs on the system's CLOCK_REALTIME: it is
        // taken when the datagram arrives, before any queueing or scheduling delay in this process.
        bool kernelTimestamps = _clock is RealtimeClock && Interop.Libc.EnableReceiveTimestamps(socket.SafeHandle) == 0;
        while (!_stopping)
        {
            int received;
            long kernelTime;
            try
            {
                // Poll with a timeout so Dispose is noticed; recvmsg itself never blocks.
                if (!socket.Poll(s_pollInterval, SelectMode.SelectRead))
                {
                    continue;
                }

                received = Interop.Libc.ReceiveTimestamped(socket.SafeHandle, request, address.Buffer.Span, out int addressLength, out kernelTime, out int errno);
                if (received < 0)
                {
                    // ICMP errors for earlier replies (ECONNREFUSED...) surface here on Linux; they concern one client.
                    if (errno is not (Interop.Libc.EAGAIN or Interop.Libc.EINTR))
                    {
                        LogReceiveError(_logger, errno);
                    }

                    continue;
                }

                address.Size = addressLength;
            }
            catch (Exception e) when (_stopping && e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var receiveTime = kernelTimestamps && kernelTime != 0 ? NtpTimestamp.FromUnixTimeNanoseconds(kernelTime) : _clock.NtpNow;
            if (!TryGetAddress(address, out UInt128 client))
            {
                continue;
            }

            int length = _engine.Process(request.AsSpan(0, received), client, receiveTime, response, out ServerOutcome outcome);
            if (length == 0)
            {
                LogDropped(_logger, outcome);
                continue;
            }

            try
            {
                socket.SendTo(response.AsSpan(0, length), SocketFlags.None, address);
            }
            catch (SocketException e) when (!_stopping)
            {
                LogTransientError(_logger, e.SocketErrorCode);
            }
            catch (Exception e) when (_stopping && e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    /// <summary>Reads the client address from a Linux sockaddr without allocating.</summary>
    internal static bool TryGetAddress(SocketAddress address, out UInt128 client)
    {
        Span<byte> raw = address.Buffer.Span;
        switch (address.Family)
        {
            case AddressFamily.InterNetwork:
                // struct sockaddr_in: family (2), port (2), address (4)
                client = ((UInt128)0xffff << 32) | BinaryPrimitives.ReadUInt32BigEndian(raw.Slice(4, 4));
                return true;
            case AddressFamily.InterNetworkV6:
                // struct sockaddr_in6: family (2), port (2), flowinfo (4), address (16)
                client = BinaryPrimitives.ReadUInt128BigEndian(raw.Slice(8, 16));
                return true;
            default:
                client = 0;
                return false;
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "NTP server listening on {Endpoint}")]
    private static partial void LogListening(ILogger logger, EndPoint endpoint);

    [LoggerMessage(EventId = 101, Level = LogLevel.Trace, Message = "NTP request dropped: {Outcome}")]
    private static partial void LogDropped(ILogger logger, ServerOutcome outcome);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "NTP socket receive error errno {Errno} (one datagram; server continues)")]
    private static partial void LogReceiveError(ILogger logger, int errno);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "NTP socket error {Error} (one datagram; server continues)")]
    private static partial void LogTransientError(ILogger logger, SocketError error);
}
