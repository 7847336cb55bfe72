using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Clock;
using Tempus.Crypto;
using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Nts;

/// <summary>
/// The client side of NTS Key Establishment (RFC 8915 §4): one TLS 1.3 connection per exchange, one request, one
/// response, and an <see cref="NtsSession"/> with the exported keys and the cookies. Thread-safe; one instance can
/// serve every NTS source, and run any number of exchanges at once.
/// </summary>
/// <remarks>
/// By default each exchange loads its trusted certificates anew (so a replaced CA file counts from the next
/// exchange on), which costs about a millisecond of CPU. A client that makes many exchanges with the same trust
/// settings, such as a load generator, can be given one <see cref="TlsClientContext"/> to use for all of them.
/// </remarks>
public sealed partial class NtsKeClient
{
    private readonly ILogger _logger;
    private readonly ISystemClock _clock;
    private readonly TlsClientContext? _tlsContext;

    /// <summary>Creates a client that loads the trust settings of each exchange's options for that exchange.</summary>
    /// <param name="logger">Where to log; nothing is logged when <see langword="null"/>.</param>
    /// <param name="clock">The clock that stamps <see cref="NtsSession.EstablishedUnixNanoseconds"/>; the real-time clock when <see langword="null"/>.</param>
    public NtsKeClient(ILogger? logger = null, ISystemClock? clock = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _clock = clock ?? RealtimeClock.Instance;
    }

    /// <summary>
    /// Creates a client whose exchanges all use <paramref name="tlsContext"/>, loaded once, instead of a context of
    /// their own. Each exchange's options must carry the same trust settings as the context
    /// (<see cref="NtsKeClientOptions.TrustedCertificateFiles"/>, <see cref="NtsKeClientOptions.TrustedCertificateDirectories"/>,
    /// <see cref="NtsKeClientOptions.UseSystemCertificates"/>, <see cref="NtsKeClientOptions.SkipCertificateTimeChecks"/>);
    /// the certificate name and the timeouts still come from each exchange (the context's
    /// <see cref="TlsClientOptions.ServerName"/> and <see cref="TlsClientOptions.HandshakeTimeout"/> are not used). Files
    /// changed after the context was made are not read again: make a new context to trust them.
    /// </summary>
    /// <param name="tlsContext">The TLS context; the caller keeps it, and disposes it once no exchange runs any more.</param>
    /// <param name="logger">Where to log; nothing is logged when <see langword="null"/>.</param>
    /// <param name="clock">The clock that stamps <see cref="NtsSession.EstablishedUnixNanoseconds"/>; the real-time clock when <see langword="null"/>.</param>
    public NtsKeClient(TlsClientContext tlsContext, ILogger? logger = null, ISystemClock? clock = null)
        : this(logger, clock)
    {
        ArgumentNullException.ThrowIfNull(tlsContext);
        _tlsContext = tlsContext;
    }

    /// <summary>
    /// Runs one key exchange with <paramref name="host"/>:<paramref name="port"/>: TLS 1.3 with ALPN ntske/1, a
    /// request for NTPv4 with the AEAD algorithms of <paramref name="options"/>, the response checked against that
    /// request, the C2S and S2C keys exported from the TLS session (RFC 8915 §5.1), and close_notify.
    /// </summary>
    /// <param name="host">The NTS-KE server's name or address; also the name its certificate must carry unless <see cref="NtsKeClientOptions.CertificateName"/> is set.</param>
    /// <param name="port">The NTS-KE port, normally <see cref="NtsKeClientOptions.DefaultPort"/>.</param>
    /// <param name="options">Trust, algorithms and timeouts.</param>
    /// <param name="cancellationToken">Cancels the exchange (reported as cancellation, not as a timeout).</param>
    /// <returns>The session: keys, at most eight cookies, and the NTP server and port to use (the Server and Port records, or this host and 123).</returns>
    /// <exception cref="NtsKeException">The exchange failed; <see cref="NtsKeException.Reason"/> says why and the message what to do.</exception>
    /// <exception cref="TlsConfigurationException">A trusted certificate file or directory of <paramref name="options"/> cannot be used.</exception>
    /// <exception cref="ArgumentException">This client was given a <see cref="TlsClientContext"/> whose trust settings differ from those of <paramref name="options"/>.</exception>
    /// <exception cref="ObjectDisposedException">The <see cref="TlsClientContext"/> this client was given has been disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<NtsSession> ExchangeAsync(string host, int port, NtsKeClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, IPEndPoint.MinPort + 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ResponseTimeout, TimeSpan.Zero);
        NtsKeRequest request = CreateRequest(options.AeadAlgorithms);
        string peer = TlsClientContext.FormatPeer(host, port);

        TlsClientOptions tlsOptions = options.ToTlsOptions(host);
        if (_tlsContext is not null && !HaveSameTrust(_tlsContext.Options, tlsOptions))
        {
            throw new ArgumentException(
                "the trust settings of these options (trusted certificate files and directories, system certificates, certificate time checks) differ from those of the TLS context this NtsKeClient was given: pass options with the context's settings, or use another client",
                nameof(options));
        }

        // Without a context of the client's, the trust settings are read for this exchange: a CA file replaced since
        // the last exchange counts.
        using TlsClientContext? ownContext = _tlsContext is null ? new TlsClientContext(tlsOptions) : null;
        TlsClientContext tls = _tlsContext ?? ownContext!;
        TlsSession session;
        try
        {
            // The request goes out with the client Finished, in one segment. The certificate name is this exchange's.
            session = await tls.ConnectAsync(host, port, tlsOptions, deferFinalFlight: true, cancellationToken).ConfigureAwait(false);
        }
        catch (TlsHandshakeException ex)
        {
            throw FromHandshakeFailure(ex, peer, port, options.HandshakeTimeout);
        }

        using (session)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ResponseTimeout);
            NtsKeResponse response;
            try
            {
                await NtsKeStream.WriteMessageAsync(
                    session,
                    NtsKeMessageWriter.GetRequestLength(request),
                    destination => NtsKeMessageWriter.TryWriteRequest(destination, request, out _),
                    timeout.Token).ConfigureAwait(false);
                NtsKeResponseParser parser = new();
                response = await NtsKeStream.ReadMessageAsync<NtsKeResponse>(
                    session, NtsKeLimits.MaxResponseLength, parser.TryParse, onMalformed: null, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new NtsKeException(
                    NtsKeFailureReason.Timeout, peer,
                    $"NTS-KE server {peer} did not send a complete response within {TlsClientContext.FormatSeconds(options.ResponseTimeout)} s of the TLS handshake: it may be overloaded, or {port} may not be its NTS-KE port",
                    ex);
            }
            catch (NtsKeProtocolException ex)
            {
                throw new NtsKeException(NtsKeFailureReason.ProtocolError, peer, $"NTS-KE server {peer} sent a malformed response: {ex.Message}", ex);
            }
            catch (TlsException ex)
            {
                throw new NtsKeException(NtsKeFailureReason.TlsFailure, peer, $"NTS-KE connection to {peer} broke before the response was complete: {ex.Message}", ex);
            }

            NtsAeadAlgorithm algorithm = Validate(response, request, peer);

            // RFC 8915 §5.1 with the AEAD 30 exception: without the echoed record 1024 the server is chrony ≤ 4.6 (or
            // behaves like it) and puts AEAD id 15 in the exporter context.
            bool compliant = algorithm == NtsAeadAlgorithm.Aes128GcmSiv && response.CompliantAes128GcmSivExporter;
            int keyLength = NtsAead.GetKeyLength(algorithm);
            byte[] c2s = new byte[keyLength];
            byte[] s2c = new byte[keyLength];
            NtsKeKeys.Export(session, algorithm, compliant, c2s, s2c);

            var result = new NtsSession
            {
                KeServer = host,
                KePort = port,
                NtpServer = response.Server ?? host,
                NtpPort = response.Port ?? NtsKeResponse.DefaultNtpPort,
                Algorithm = algorithm,
                C2SKey = c2s,
                S2CKey = s2c,
                EstablishedUnixNanoseconds = _clock.UnixNanoseconds,
            };

            foreach (byte[] cookie in response.Cookies.Take(NtsKeLimits.MaxCookies))
            {
                result.Cookies.Enqueue(cookie);
            }

            // RFC 8915 §4: close_notify after the request; sent once the response is in, as chrony does, so that no
            // server takes it for the end of the exchange before it has answered. The keys are already ours, so a
            // failure here only costs the server a clean close.
            try
            {
                await session.ShutdownAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TlsException or OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
            {
                LogCloseFailed(_logger, peer, ex.Message);
            }

            string context = compliant || algorithm != NtsAeadAlgorithm.Aes128GcmSiv ? "RFC 8915" : "chrony legacy";
            LogExchanged(_logger, peer, (ushort)algorithm, context, result.Cookies.Count, result.NtpServer, result.NtpPort);
            return result;
        }
    }

    private static bool HaveSameTrust(TlsClientOptions context, TlsClientOptions exchange) =>
        context.UseSystemCertificates == exchange.UseSystemCertificates
        && context.SkipCertificateTimeChecks == exchange.SkipCertificateTimeChecks
        && context.TrustedCertificateFiles.SequenceEqual(exchange.TrustedCertificateFiles, StringComparer.Ordinal)
        && context.TrustedCertificateDirectories.SequenceEqual(exchange.TrustedCertificateDirectories, StringComparer.Ordinal);

    // The TLS layer's messages already name the certificate problem and its remedy; keep them, and sort the
    // connection failures into the reasons a caller acts on differently.
    /// <summary>The TLS layer's explanation of a timeout without its "X timed out after N s" lead, which the NTS-KE message already says.</summary>
    private static string TimeoutDetail(string tlsMessage)
    {
        int lead = tlsMessage.IndexOf(" s: ", StringComparison.Ordinal);
        return lead >= 0 && tlsMessage.AsSpan(0, lead).Contains("timed out after", StringComparison.Ordinal) ? tlsMessage[(lead + 4)..] : tlsMessage;
    }

    internal static NtsKeException FromHandshakeFailure(TlsHandshakeException ex, string peer, int port, TimeSpan handshakeTimeout)
    {
        return ex.Reason switch
        {
            TlsFailureReason.Timeout => new NtsKeException(
                NtsKeFailureReason.Timeout, peer,
                $"NTS-KE to {peer} timed out after {TlsClientContext.FormatSeconds(handshakeTimeout)} s: is outbound TCP/{port} allowed by the firewall? ({TimeoutDetail(ex.Message)})",
                ex),
            TlsFailureReason.ConnectionRefused => new NtsKeException(NtsKeFailureReason.ConnectionRefused, peer, ex.Message, ex),
            TlsFailureReason.ConnectionFailed when ex.InnerException is SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain } =>
                new NtsKeException(NtsKeFailureReason.DnsFailure, peer, ex.Message, ex),
            TlsFailureReason.ConnectionFailed => new NtsKeException(NtsKeFailureReason.ConnectionFailed, peer, ex.Message, ex),
            _ => new NtsKeException(NtsKeFailureReason.TlsFailure, peer, ex.Message, ex),
        };
    }

    internal static NtsKeRequest CreateRequest(IReadOnlyList<NtsAeadAlgorithm> algorithms)
    {
        ArgumentNullException.ThrowIfNull(algorithms);
        if (algorithms.Count == 0)
        {
            throw new ArgumentException("an NTS-KE request must offer at least one AEAD algorithm (RFC 8915 §4.1.5)", nameof(algorithms));
        }

        for (int i = 0; i < algorithms.Count; i++)
        {
            if (!NtsAead.IsSupported(algorithms[i]))
            {
                throw new ArgumentException($"AEAD algorithm {(ushort)algorithms[i]} cannot be offered: this machine cannot run it (the NTS AEADs are 15, 16, 17 and 30, with OpenSSL 3)", nameof(algorithms));
            }

            for (int j = 0; j < i; j++)
            {
                if (algorithms[j] == algorithms[i])
                {
                    throw new ArgumentException($"AEAD algorithm {(ushort)algorithms[i]} is listed twice", nameof(algorithms));
                }
            }
        }

        return new NtsKeRequest
        {
            NextProtocols = [NtsNextProtocol.Ntpv4],
            AeadAlgorithms = algorithms.ToArray(),

            // Record 1024 goes with AEAD 30 so that a chrony ≥ 4.7 server uses the RFC 8915 §5.1 context.
            CompliantAes128GcmSivExporter = algorithms.Contains(NtsAeadAlgorithm.Aes128GcmSiv),
        };
    }

    // STYLE rule 18: the response must answer this request.
    internal static NtsAeadAlgorithm Validate(NtsKeResponse response, NtsKeRequest request, string peer)
    {
        if (response.ErrorCode is NtsKeErrorCode error)
        {
            // RFC 8915 §4.1.3: discard the key material and do not proceed.
            throw new NtsKeException(NtsKeFailureReason.ServerError, peer, $"NTS-KE server {peer} refused: {Describe(error)}") { ServerErrorCode = error };
        }

        if (response.WarningCode is ushort warning)
        {
            // RFC 8915 §4.1.4: unrecognized warning codes MUST be treated as errors, and no warning code is defined.
            throw new NtsKeException(
                NtsKeFailureReason.ServerError, peer,
                string.Create(CultureInfo.InvariantCulture, $"NTS-KE server {peer} sent warning code {warning}, which no specification defines; RFC 8915 §4.1.4 has clients treat unknown warnings as errors"))
            {
                ServerWarningCode = warning,
            };
        }

        foreach (NtsNextProtocol protocol in response.NextProtocols)
        {
            if (!request.NextProtocols.Contains(protocol))
            {
                throw Protocol(peer, string.Create(CultureInfo.InvariantCulture, $"it granted next protocol {(ushort)protocol}, which this client did not offer (RFC 8915 §4.1.2)"));
            }
        }

        if (!response.NextProtocols.Contains(NtsNextProtocol.Ntpv4))
        {
            throw new NtsKeException(NtsKeFailureReason.ServerError, peer, $"NTS-KE server {peer} did not agree to NTPv4 (its Next Protocol record is empty): it does not serve NTS for NTP");
        }

        if (response.AeadAlgorithm is not NtsAeadAlgorithm algorithm)
        {
            throw new NtsKeException(
                NtsKeFailureReason.ServerError, peer,
                $"NTS-KE server {peer} supports none of the AEAD algorithms offered ({string.Join(", ", request.AeadAlgorithms.Select(a => ((ushort)a).ToString(CultureInfo.InvariantCulture)))}); every NTS server supports 15 (RFC 8915 §4.1.5), so offer it");
        }

        if (!request.AeadAlgorithms.Contains(algorithm))
        {
            throw Protocol(peer, string.Create(CultureInfo.InvariantCulture, $"it chose AEAD algorithm {(ushort)algorithm}, which this client did not offer (RFC 8915 §4.1.5)"));
        }

        if (response.Cookies.Count == 0)
        {
            throw Protocol(peer, "it sent no cookie, and RFC 8915 §4.1.6 requires at least one");
        }

        return algorithm;
    }

    internal static string Describe(NtsKeErrorCode error) => error switch
    {
        NtsKeErrorCode.UnrecognizedCriticalRecord => "unrecognized critical record (error code 0): it does not understand a record this client marked critical; retrying unchanged will not help",
        NtsKeErrorCode.BadRequest => "bad request (error code 1): it found the request incomplete or malformed, or it came too late; retrying unchanged will not help",
        NtsKeErrorCode.InternalServerError => "internal server error (error code 2): it could not answer because of its own condition; retry later",
        _ => string.Create(CultureInfo.InvariantCulture, $"error code {(ushort)error}, which RFC 8915 §4.1.3 does not define"),
    };

    private static NtsKeException Protocol(string peer, string problem) =>
        new(NtsKeFailureReason.ProtocolError, peer, $"NTS-KE server {peer} sent a response that does not answer the request: {problem}");

    [LoggerMessage(EventId = 430, Level = LogLevel.Debug, Message = "NTS-KE with {Peer}: AEAD {Algorithm} ({Context} exporter context), {Cookies} cookies, NTP server {NtpServer} port {NtpPort}")]
    private static partial void LogExchanged(ILogger logger, string peer, ushort algorithm, string context, int cookies, string ntpServer, int ntpPort);

    [LoggerMessage(EventId = 431, Level = LogLevel.Debug, Message = "NTS-KE with {Peer}: close_notify failed after the response was complete: {Problem}")]
    private static partial void LogCloseFailed(ILogger logger, string peer, string problem);
}
