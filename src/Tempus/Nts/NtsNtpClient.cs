using System.Net;
using System.Net.Sockets;
using Tempus.Clock;
using Tempus.Ntp;
using Tempus.Protocol;

namespace Tempus.Nts;

/// <summary>
/// One-shot NTS-protected NTP client (RFC 8915 §5.7): one request built by <see cref="NtsNtpRequest"/> from an
/// <see cref="NtsSession"/>, one authentic response. Datagrams that are not an authentic answer to the request
/// (wrong origin or Unique Identifier, unauthenticated, bad authenticator) are discarded while waiting; an NTS NAK
/// ends the query with <see cref="NtpQueryError.NtsNak"/>, which tells the caller to run NTS-KE again.
/// </summary>
public sealed class NtsNtpClient
{
    private readonly ISystemClock _clock;

    /// <summary>Creates a client reading time from <paramref name="clock"/>.</summary>
    /// <param name="clock">The local clock for T1 and T4.</param>
    public NtsNtpClient(ISystemClock clock)
    {
        _clock = clock;
    }

    /// <summary>Resolves the session's NTP server and queries it once.</summary>
    /// <param name="session">The NTS session; one cookie is used and the new ones are added to it.</param>
    /// <param name="timeout">How long to wait for an authentic response.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The measurement, with <see cref="AuthenticationMode.Nts"/>.</returns>
    /// <exception cref="NtpQueryException">The query failed; <see cref="NtpQueryException.Error"/> says how.</exception>
    public async Task<NtpQueryResult> QueryAsync(NtsSession session, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        IPAddress address = await NtpClient.ResolveAsync(session.NtpServer, timeout, cancellationToken).ConfigureAwait(false);
        return await QueryAsync(session, new IPEndPoint(address, session.NtpPort), timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queries the session's NTP server at a known endpoint once.</summary>
    /// <param name="session">The NTS session; one cookie is used and the new ones are added to it.</param>
    /// <param name="server">Where to send the request.</param>
    /// <param name="timeout">How long to wait for an authentic response.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The measurement, with <see cref="AuthenticationMode.Nts"/>.</returns>
    /// <exception cref="NtpQueryException">The query failed; <see cref="NtpQueryException.Error"/> says how.</exception>
    public async Task<NtpQueryResult> QueryAsync(NtsSession session, IPEndPoint server, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(server);
        string host = session.NtpServer;
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new NtpQueryException(NtpQueryError.Unreachable, $"cannot reach {NtpClient.Describe(host, server)}: {e.Message}", inner: e);
        }

        NtsNtpRequest request = NtsNtpRequest.Create(session, _clock.Precision);
        // On before the request leaves, so the response is stamped however fast it comes back.
        bool kernelTimestamps = TimestampedReceiver.Enable(socket, _clock);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        NtpTimestamp t1 = _clock.NtpNow;
        try
        {
            await socket.SendAsync(request.Datagram, SocketFlags.None, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new NtpQueryException(NtpQueryError.Unreachable, $"cannot send to {NtpClient.Describe(host, server)}: {e.Message}", inner: e);
        }

        byte[] buffer = new byte[2048];
        string? lastRejection = null;
        while (true)
        {
            int received;
            NtpTimestamp t4;
            try
            {
                (received, t4) = await TimestampedReceiver.ReceiveAsync(socket, buffer, _clock, kernelTimestamps, timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                string why = lastRejection is null
                    ? " (chrony and Tempus drop NTS requests whose authenticator does not verify, and servers without NTS drop them all: is NTS enabled on that server?)"
                    : $" (discarded: {lastRejection})";
                throw new NtpQueryException(NtpQueryError.Timeout, $"no authentic NTS response from {NtpClient.Describe(host, server)} within {timeout.TotalSeconds:0.###} s{why}");
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.ConnectionReset)
            {
                throw new NtpQueryException(NtpQueryError.Unreachable, $"{NtpClient.Describe(host, server)} is unreachable: {e.Message} (no NTP server on that port?)", inner: e);
            }

            NtsResponseStatus status = request.Accept(buffer.AsSpan(0, received), out NtpPacketHeader header);
            switch (status)
            {
                case NtsResponseStatus.Accepted:
                    return NtpClient.Measure(host, server, header, t1, t4, AuthenticationMode.Nts, key: null);
                case NtsResponseStatus.NtsNak:
                    throw new NtpQueryException(NtpQueryError.NtsNak, $"{NtpClient.Describe(host, server)} sent an NTS NAK: it cannot use the cookie from {session.KeServer}:{session.KePort} (its keys rotated, or it is not the server that NTS-KE named); run NTS-KE again", header.ReferenceId);
                case NtsResponseStatus.KissOfDeath:
                    throw new NtpQueryException(NtpQueryError.KissOfDeath, $"{NtpClient.Describe(host, server)} sent a kiss-o'-death {KissCode.Format(header.ReferenceId)}: {KissCode.Describe(header.ReferenceId)}", header.ReferenceId);
                default:
                    lastRejection = Describe(status);
                    break;
            }
        }
    }

    private static string Describe(NtsResponseStatus status) => status switch
    {
        NtsResponseStatus.Malformed => "a malformed packet",
        NtsResponseStatus.NotMatching => "a packet whose origin timestamp does not match our request",
        NtsResponseStatus.UniqueIdentifierMismatch => "a packet without our NTS Unique Identifier",
        NtsResponseStatus.Unauthenticated => "a response without NTS authentication (is NTS enabled on the server?)",
        NtsResponseStatus.AuthenticationFailed => "a response whose NTS authenticator does not verify with our S2C key",
        _ => status.ToString(),
    };
}
