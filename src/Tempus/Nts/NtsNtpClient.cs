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
        NtsNtpRequest? request = null;
        return await UdpExchange.ExchangeAsync(
            host,
            server,
            () => (request = NtsNtpRequest.Create(session, _clock.Precision)).Datagram,
            _clock,
            timeout,
            (ReadOnlySpan<byte> datagram, NtpTimestamp t1, NtpTimestamp t4, out string? rejection) =>
            {
                rejection = null;
                NtsResponseStatus status = request!.Accept(datagram, out NtpPacketHeader header);
                switch (status)
                {
                    case NtsResponseStatus.Accepted:
                        return NtpClient.Measure(host, server, header, t1, t4, AuthenticationMode.Nts, key: null);
                    case NtsResponseStatus.NtsNak:
                        throw new NtpQueryException(NtpQueryError.NtsNak, $"{NtpClient.Describe(host, server)} sent an NTS NAK: it cannot use the cookie from {session.KeServer}:{session.KePort} (its keys rotated, or it is not the server that NTS-KE named); run NTS-KE again", header.ReferenceId);
                    case NtsResponseStatus.KissOfDeath:
                        throw new NtpQueryException(NtpQueryError.KissOfDeath, $"{NtpClient.Describe(host, server)} sent a kiss-o'-death {KissCode.Format(header.ReferenceId)}: {KissCode.Describe(header.ReferenceId)}", header.ReferenceId);
                    default:
                        rejection = Describe(status);
                        return null;
                }
            },
            lastRejection => $"no authentic NTS response from {NtpClient.Describe(host, server)} within {timeout.TotalSeconds:0.###} s" + (lastRejection is null
                ? " (chrony and Tempus drop NTS requests whose authenticator does not verify, and servers without NTS drop them all: is NTS enabled on that server?)"
                : $" (discarded: {lastRejection})"),
            cancellationToken).ConfigureAwait(false);
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
