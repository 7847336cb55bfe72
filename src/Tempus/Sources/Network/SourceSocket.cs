using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Sources.Network;

/// <summary>One received datagram: its length in the caller's buffer and its RFC 5905 T4.</summary>
/// <param name="Length">Bytes received.</param>
/// <param name="T4">The receive time on the local (cooked) clock.</param>
/// <param name="KernelTimestamp">Whether <paramref name="T4"/> comes from the kernel (SO_TIMESTAMPNS).</param>
internal readonly record struct ReceivedDatagram(int Length, NtpTimestamp T4, bool KernelTimestamp);

/// <summary>
/// The UDP socket of one source: bound to an ephemeral port and connected to the server, so the kernel drops
/// datagrams from any other address or port and reports ICMP errors (port unreachable) on the next receive.
/// T4 comes from the kernel's receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) moved onto the local clock, so it
/// excludes the time this process takes to wake up and run the continuation. T1 likewise comes from the kernel's
/// software transmit timestamp (SO_TIMESTAMPING, read back from the error queue, as chrony does), so it excludes the
/// time between reading the clock and the datagram leaving: building the request, the send call, and any preemption
/// in between, which on a loaded machine is tens to hundreds of microseconds, all of it on the request's side, so
/// half of it would be offset.
/// </summary>
internal sealed class SourceSocket : IDisposable
{
    private readonly Socket _socket;
    private readonly ISystemClock _clock;

    // Datagrams sent since transmit timestamps were turned on: SOF_TIMESTAMPING_OPT_ID numbers them from 0.
    private uint _sent;

    private SourceSocket(Socket socket, IPEndPoint remote, ISystemClock clock, bool kernelTimestamps, bool kernelTransmitTimestamps)
    {
        _socket = socket;
        _clock = clock;
        Remote = remote;
        KernelTimestamps = kernelTimestamps;
        KernelTransmitTimestamps = kernelTransmitTimestamps;
        Local = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>The server this socket is connected to.</summary>
    public IPEndPoint Remote { get; }

    /// <summary>The local address and port the requests leave from.</summary>
    public IPEndPoint Local { get; }

    /// <summary>Whether the kernel stamps received datagrams.</summary>
    public bool KernelTimestamps { get; }

    /// <summary>Whether the kernel stamps sent datagrams (see <see cref="TryTakeTransmitTimestamp"/>).</summary>
    public bool KernelTransmitTimestamps { get; }

    /// <summary>Opens a socket connected to <paramref name="remote"/> (no packet is sent by connecting UDP).</summary>
    /// <exception cref="SocketException">No socket of that family, or no route to the address.</exception>
    public static SourceSocket Open(IPEndPoint remote, ISystemClock clock)
    {
        var socket = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(remote.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            socket.Connect(remote);

            // On before the first request leaves, so the first response is stamped however fast it comes back.
            bool kernel = Interop.Libc.EnableReceiveTimestamps(socket.SafeHandle) == 0;
            bool kernelTransmit = Interop.Libc.EnableTransmitTimestamps(socket.SafeHandle) == 0;
            return new SourceSocket(socket, remote, clock, kernel, kernelTransmit);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one request; a pending ICMP error from an earlier exchange surfaces here as a <see cref="SocketException"/>.</summary>
    public void Send(ReadOnlySpan<byte> datagram)
    {
        _socket.Send(datagram, SocketFlags.None);
        _sent++;
    }

    /// <summary>
    /// Empties the error queue of the kernel's transmit timestamps and returns the one of the datagram sent last, on the
    /// local clock: false when the kernel does not stamp, nothing was sent, or its stamp is not there (yet: a device may
    /// send it later than the send call returns; ask again when the response comes).
    /// </summary>
    /// <param name="localNs">When the last datagram left, Unix ns on the local clock.</param>
    public bool TryTakeTransmitTimestamp(out long localNs)
    {
        localNs = 0;
        if (!KernelTransmitTimestamps || _sent == 0)
        {
            return false;
        }

        if (!Interop.Libc.TakeTransmitTimestamp(_socket.SafeHandle, _sent - 1, out long kernelRealtime))
        {
            return false;
        }

        localNs = ToLocalClock(kernelRealtime);
        return true;
    }

    /// <summary>
    /// Waits for the next datagram (a zero-byte peek, so nothing is copied before the timestamp is read), then reads
    /// it with its kernel timestamp. Socket errors (ICMP port unreachable on the connected socket) surface as
    /// <see cref="SocketException"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReceivedDatagram> ReceiveAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
            int received = Interop.Libc.ReceiveTimestamped(_socket.SafeHandle, buffer, out long kernelTime, out int errno);
            if (received >= 0)
            {
                return KernelTimestamps && kernelTime != 0
                    ? new ReceivedDatagram(received, NtpTimestamp.FromUnixTimeNanoseconds(ToLocalClock(kernelTime)), true)
                    : new ReceivedDatagram(received, _clock.NtpNow, false);
            }

            if (errno is not (Interop.Libc.EAGAIN or Interop.Libc.EINTR))
            {
                throw new SocketException(errno switch
                {
                    111 => (int)SocketError.ConnectionRefused,
                    113 => (int)SocketError.HostUnreachable,
                    101 => (int)SocketError.NetworkUnreachable,
                    _ => (int)SocketError.SocketError,
                });
            }
        }
    }

    /// <summary>
    /// The kernel stamps with CLOCK_REALTIME; the daemon measures on its own (cooked) clock, which may carry virtual
    /// corrections (<c>tempusd -x</c>) or be simulated. The two are read back to back right after the receive: their
    /// difference changes at most at the slew rate, so the error is far below the network's.
    /// </summary>
    private long ToLocalClock(long kernelRealtime)
    {
        if (_clock is RealtimeClock)
        {
            return kernelRealtime;
        }

        long local = _clock.UnixNanoseconds;
        long realtime = RealtimeClock.Instance.UnixNanoseconds;
        return kernelRealtime + (local - realtime);
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();
}
