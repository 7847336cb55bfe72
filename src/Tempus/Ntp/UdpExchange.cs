using System.Net;
using System.Net.Sockets;
using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Ntp;

/// <summary>
/// Checks one received datagram against the request: returns the measurement, returns null with a reason for a
/// datagram to ignore (not an answer to this request), or throws for a definite failure (KoD, NAK, bad MAC).
/// </summary>
internal delegate NtpQueryResult? ResponseHandler(ReadOnlySpan<byte> datagram, NtpTimestamp t1, NtpTimestamp t4, out string? rejection);

/// <summary>
/// The one client-side request/response exchange shared by the plain/symmetric-key and NTS clients: a connected
/// UDP socket (ICMP unreachable surfaces as an error, other senders are filtered), kernel receive timestamps for
/// T4, T1 from the kernel's transmit timestamp (or read just before the send when there is none), and a receive loop
/// that skips datagrams the handler rejects until the timeout.
/// </summary>
internal static class UdpExchange
{
    private const int ReceiveBufferSize = 2048;

    /// <param name="host">The name shown in messages.</param>
    /// <param name="server">Where to send the request.</param>
    /// <param name="buildRequest">Builds the request once the socket is connected (an NTS request spends a cookie).</param>
    /// <param name="clock">The local clock for T1 and (when the kernel gives none) T4.</param>
    /// <param name="timeout">How long to wait for an accepted response.</param>
    /// <param name="handle">Checks each datagram.</param>
    /// <param name="timeoutMessage">The timeout message, given the last rejection reason (or null if nothing came).</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    public static async Task<NtpQueryResult> ExchangeAsync(
        string host,
        IPEndPoint server,
        Func<ReadOnlyMemory<byte>> buildRequest,
        ISystemClock clock,
        TimeSpan timeout,
        ResponseHandler handle,
        Func<string?, string> timeoutMessage,
        CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new NtpQueryException(NtpQueryError.Unreachable, $"cannot reach {NtpClient.Describe(host, server)}: {e.Message}", inner: e);
        }

        ReadOnlyMemory<byte> request = buildRequest();

        // On before the request leaves, so the response is stamped however fast it comes back.
        bool kernelTimestamps = TimestampedReceiver.Enable(socket, clock);
        bool kernelTransmit = TimestampedReceiver.EnableTransmit(socket, clock);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        NtpTimestamp t1 = clock.NtpNow;
        bool t1FromKernel = false;
        try
        {
            await socket.SendAsync(request, SocketFlags.None, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new NtpQueryException(NtpQueryError.Unreachable, $"cannot send to {NtpClient.Describe(host, server)}: {e.Message}", inner: e);
        }

        // T1 as the request left (the kernel's stamp), not the clock read before building the send: the time between
        // lies on the request's side only, so half of it would be offset. Asked again when a response is in, for a
        // device that stamps after the send call returned.
        if (kernelTransmit && TimestampedReceiver.TryTakeTransmitTimestamp(socket, t1, out NtpTimestamp sent))
        {
            t1 = sent;
            t1FromKernel = true;
        }

        byte[] buffer = new byte[ReceiveBufferSize];
        string? lastRejection = null;
        while (true)
        {
            int received;
            NtpTimestamp t4;
            try
            {
                (received, t4) = await TimestampedReceiver.ReceiveAsync(socket, buffer, clock, kernelTimestamps, timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new NtpQueryException(NtpQueryError.Timeout, timeoutMessage(lastRejection));
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.ConnectionReset)
            {
                throw new NtpQueryException(NtpQueryError.Unreachable, $"{NtpClient.Describe(host, server)} is unreachable: {e.Message} (no NTP server on that port?)", inner: e);
            }

            if (kernelTransmit && !t1FromKernel && TimestampedReceiver.TryTakeTransmitTimestamp(socket, t1, out NtpTimestamp late))
            {
                t1 = late;
                t1FromKernel = true;
            }

            NtpQueryResult? result = handle(buffer.AsSpan(0, received), t1, t4, out lastRejection);
            if (result is not null)
            {
                return result;
            }
        }
    }
}
