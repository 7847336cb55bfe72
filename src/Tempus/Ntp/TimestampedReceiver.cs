using System.Net.Sockets;
using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Ntp;

/// <summary>
/// Receives client responses with RFC 5905 T4 from the kernel (SO_TIMESTAMPNS), so T4 excludes the time this
/// process takes to wake up, schedule the continuation and (on a first query) JIT-compile the receive path.
/// Used by the plain/symmetric-key and the NTS one-shot clients.
/// </summary>
internal static class TimestampedReceiver
{
    /// <summary>Turns kernel timestamps on when the client measures against CLOCK_REALTIME.</summary>
    /// <returns>Whether T4 will come from the kernel.</returns>
    public static bool Enable(Socket socket, ISystemClock clock) =>
        clock is RealtimeClock && Interop.Libc.EnableReceiveTimestamps(socket.SafeHandle) == 0;

    /// <summary>
    /// Turns the kernel's software transmit timestamps on (SO_TIMESTAMPING, as chrony and tempusd's sources do), when the
    /// client measures against CLOCK_REALTIME, so T1 is when the request left rather than a clock read before it was sent.
    /// </summary>
    /// <returns>Whether <see cref="TryTakeTransmitTimestamp"/> can give T1.</returns>
    public static bool EnableTransmit(Socket socket, ISystemClock clock) =>
        clock is RealtimeClock && Interop.Libc.EnableTransmitTimestamps(socket.SafeHandle) == 0;

    /// <summary>
    /// Empties the socket's error queue and returns the kernel's transmit timestamp of the one request sent (datagram
    /// 0), when it is there and within 1 ms before to 1 s after <paramref name="readBeforeSend"/> (the clock read just
    /// before the send, which the stamp replaces as T1).
    /// </summary>
    public static bool TryTakeTransmitTimestamp(Socket socket, NtpTimestamp readBeforeSend, out NtpTimestamp sent)
    {
        sent = default;
        if (!Interop.Libc.TakeTransmitTimestamp(socket.SafeHandle, datagramId: 0, out long kernelRealtime))
        {
            return false;
        }

        var stamp = NtpTimestamp.FromUnixTimeNanoseconds(kernelRealtime);
        long lag = stamp - readBeforeSend;
        if (lag < -NtpTimestamp.SecondsToFixed(0.001) || lag > NtpTimestamp.SecondsToFixed(1))
        {
            return false;
        }

        sent = stamp;
        return true;
    }

    /// <summary>
    /// Waits for the next datagram without taking it (a zero-byte peek), then reads it with its kernel timestamp.
    /// Socket errors (ICMP port unreachable on a connected socket, ...) surface as <see cref="SocketException"/>.
    /// </summary>
    public static async Task<(int Length, NtpTimestamp Received)> ReceiveAsync(Socket socket, byte[] buffer, ISystemClock clock, bool kernelTimestamps, CancellationToken cancellationToken)
    {
        while (true)
        {
            await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
            int received = Interop.Libc.ReceiveTimestamped(socket.SafeHandle, buffer, out long kernelTime, out int errno);
            if (received >= 0)
            {
                return (received, kernelTimestamps && kernelTime != 0 ? NtpTimestamp.FromUnixTimeNanoseconds(kernelTime) : clock.NtpNow);
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
}
