using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Ntp;

/// <summary>
/// One-shot NTP client (like ntpdig/sntp): one request, one validated response. The request's transmit
/// timestamp is random (as chrony and ntpd-rs send it), so it reveals nothing about our clock and an off-path
/// attacker cannot guess the origin timestamp a valid response must echo.
/// </summary>
public sealed class NtpClient
{
    private readonly ISystemClock _clock;

    /// <summary>Creates a client reading time from <paramref name="clock"/>.</summary>
    public NtpClient(ISystemClock clock)
    {
        _clock = clock;
    }

    /// <summary>Resolves <paramref name="host"/> and queries it once.</summary>
    /// <param name="host">Host name or address.</param>
    /// <param name="port">UDP port.</param>
    /// <param name="key">Symmetric key to authenticate with, or null for an unauthenticated query.</param>
    /// <param name="timeout">How long to wait for a valid response.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="NtpQueryException">The query failed; <see cref="NtpQueryException.Error"/> says how.</exception>
    public async Task<NtpQueryResult> QueryAsync(string host, int port, SymmetricKey? key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        IPAddress address = await ResolveAsync(host, timeout, cancellationToken).ConfigureAwait(false);
        return await QueryAsync(host, new IPEndPoint(address, port), key, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queries a server at a known endpoint once.</summary>
    /// <param name="host">The name shown in messages and results.</param>
    /// <param name="server">Where to send the request.</param>
    /// <param name="key">Symmetric key to authenticate with, or null.</param>
    /// <param name="timeout">How long to wait for a valid response.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<NtpQueryResult> QueryAsync(string host, IPEndPoint server, SymmetricKey? key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var transmit = new NtpTimestamp(BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8)));
        return await UdpExchange.ExchangeAsync(
            host,
            server,
            () =>
            {
                byte[] request = new byte[NtpPacketHeader.Size + 4 + 20];
                var header = new NtpPacketHeader
                {
                    Leap = LeapIndicator.Unsynchronized,
                    Version = 4,
                    Mode = NtpMode.Client,
                    Poll = 6,
                    Precision = _clock.Precision,
                    TransmitTimestamp = transmit,
                };
                header.TryWrite(request, out int length);
                if (key is not null)
                {
                    length += key.WriteMac(request.AsSpan(0, length), request.AsSpan(length));
                }

                return request.AsMemory(0, length);
            },
            _clock,
            timeout,
            (ReadOnlySpan<byte> datagram, NtpTimestamp t1, NtpTimestamp t4, out string? rejection) => Validate(host, server, datagram, transmit, key, t1, t4, out rejection),
            lastRejection => $"no response from {Describe(host, server)} within {timeout.TotalSeconds:0.###} s" + (lastRejection is null
                ? (key is null ? "" : " (chrony and NTPsec drop requests whose key they do not have or whose MAC is wrong: check the key id and value)")
                : $" (rejected: {lastRejection})"),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks a response against our request. Returns null with a reason for packets to ignore (not ours),
    /// throws for definite answers that are failures (KoD, crypto-NAK, bad MAC on a matching response).
    /// </summary>
    private static NtpQueryResult? Validate(string host, IPEndPoint server, ReadOnlySpan<byte> datagram, NtpTimestamp transmit, SymmetricKey? key, NtpTimestamp t1, NtpTimestamp t4, out string? rejection)
    {
        NtpParseStatus status = NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout);
        if (status != NtpParseStatus.Ok)
        {
            rejection = $"malformed response: {status.Describe(0)}";
            return null;
        }

        NtpPacketHeader header = layout.Header;

        // RFC 5905 §8: a response whose origin timestamp is not our transmit timestamp is bogus (or a replay).
        if (header.OriginTimestamp != transmit)
        {
            rejection = "response origin timestamp does not match our request";
            return null;
        }

        if (header.Mode != NtpMode.Server)
        {
            rejection = $"response has mode {(int)header.Mode} ({header.Mode}), expected 4 (server)";
            return null;
        }

        rejection = null;
        if (layout.IsCryptoNak)
        {
            if (key is null)
            {
                throw new NtpQueryException(NtpQueryError.InvalidResponse, $"{Describe(host, server)} sent a crypto-NAK to an unauthenticated request");
            }

            throw new NtpQueryException(NtpQueryError.CryptoNak, $"{Describe(host, server)} answered with a crypto-NAK: it does not accept key {key.Id} ({MacAlgorithms.ChronyName(key.Algorithm)}); check that both sides have the same key and that it is trusted");
        }

        if (header.IsKissOfDeath)
        {
            string code = KissCode.Format(header.ReferenceId);
            throw new NtpQueryException(NtpQueryError.KissOfDeath, $"{Describe(host, server)} sent a kiss-o'-death {code}: {KissCode.Describe(header.ReferenceId)}", header.ReferenceId);
        }

        if (key is not null)
        {
            if (!layout.HasMac)
            {
                throw new NtpQueryException(NtpQueryError.AuthenticationFailed, $"{Describe(host, server)} answered without a MAC: the response is not authenticated (does the server have key {key.Id}?)");
            }

            if (layout.MacKeyId != key.Id)
            {
                throw new NtpQueryException(NtpQueryError.AuthenticationFailed, $"{Describe(host, server)} signed its response with key {layout.MacKeyId}, not our key {key.Id}");
            }

            if (!key.VerifyDigest(layout.AuthenticatedData, layout.MacDigest))
            {
                throw new NtpQueryException(NtpQueryError.AuthenticationFailed, $"the MAC of the response from {Describe(host, server)} does not verify with key {key.Id} ({MacAlgorithms.ChronyName(key.Algorithm)}): the keys differ or the packet was altered");
            }
        }

        return Measure(host, server, header, t1, t4, key is null ? AuthenticationMode.None : AuthenticationMode.SymmetricKey, key);
    }

    /// <summary>
    /// Checks that an authentic, matching response carries usable time and computes offset and delay (RFC 5905 §8).
    /// Shared by the symmetric-key and NTS clients, which have already matched and authenticated the response.
    /// </summary>
    /// <exception cref="NtpQueryException">The server is unsynchronized or its timestamps are zero.</exception>
    internal static NtpQueryResult Measure(string host, IPEndPoint server, NtpPacketHeader header, NtpTimestamp t1, NtpTimestamp t4, AuthenticationMode authentication, SymmetricKey? key)
    {
        if (header.Leap == LeapIndicator.Unsynchronized || header.Stratum >= 16)
        {
            throw new NtpQueryException(NtpQueryError.InvalidResponse, $"{Describe(host, server)} is not synchronized (leap 3, stratum {header.Stratum}): its time must not be used");
        }

        if (header.ReceiveTimestamp.IsZero || header.TransmitTimestamp.IsZero)
        {
            throw new NtpQueryException(NtpQueryError.InvalidResponse, $"{Describe(host, server)} sent a response with a zero receive or transmit timestamp");
        }

        // RFC 5905 §8: offset = ((T2 - T1) + (T3 - T4)) / 2, delay = (T4 - T1) - (T3 - T2); differences in
        // 32.32 fixed point, summed in 128 bits so nothing overflows.
        long a = header.ReceiveTimestamp - t1;
        long b = header.TransmitTimestamp - t4;
        long processing = header.TransmitTimestamp - header.ReceiveTimestamp;
        long roundTrip = t4 - t1;
        double offset = NtpTimestamp.FixedToSeconds((long)(((Int128)a + b) / 2));
        double delay = Math.Max(0, NtpTimestamp.FixedToSeconds(roundTrip - processing));
        return new NtpQueryResult
        {
            Server = server,
            Host = host,
            Header = header,
            Offset = offset,
            Delay = delay,
            T1 = t1,
            T4 = t4,
            Authentication = authentication,
            KeyId = key?.Id,
            KeyAlgorithm = key?.Algorithm,
        };
    }

    internal static async Task<IPAddress> ResolveAsync(string host, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? literal))
        {
            return literal;
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NtpQueryException(NtpQueryError.Unreachable, $"cannot resolve '{host}': DNS lookup timed out after {timeout.TotalSeconds:0.###} s");
        }
        catch (SocketException e)
        {
            throw new NtpQueryException(NtpQueryError.Unreachable, $"cannot resolve '{host}': {e.Message}", inner: e);
        }

        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new NtpQueryException(NtpQueryError.Unreachable, $"cannot resolve '{host}': no addresses");
    }

    internal static string Describe(string host, IPEndPoint server)
        => host == server.Address.ToString() ? server.ToString() : $"{host} ({server})";
}
