using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Crypto;
using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Nts;

/// <summary>
/// The server side of NTS Key Establishment (RFC 8915 §4): accepts TCP connections, runs TLS 1.3 with ALPN ntske/1,
/// reads one request, and answers with the negotiated protocol and AEAD, the NTP server and port, and eight cookies
/// from an <see cref="INtsCookieIssuer"/> that carry the keys exported from that TLS session.
/// </summary>
/// <remarks>
/// <para>STYLE rule 17: one bad connection never disturbs the others. A malformed request gets an Error record and End
/// of Message (RFC 8915 §4.1.3) and that connection alone is closed; a failed handshake, a timeout or a reset is
/// counted and logged at Debug.</para>
/// <para>At most <see cref="NtsKeServerOptions.MaxConnections"/> connections are served at once; the excess are closed
/// as soon as they are accepted. Certificates are reloaded by <see cref="ReloadCertificates"/> (SIGHUP) and when
/// their files change; a reload that fails keeps the certificates in service.</para>
/// </remarks>
public sealed partial class NtsKeServer : IAsyncDisposable, IDisposable
{
    private const int MaxKeyLength = 64;
    private const int MaxLoggedRequestBytes = 1024;

    // By default one event loop per two CPUs, at least one and up to eight: each runs its connections' TLS inline, so
    // more would only contend, and a loop per CPU on CPUs that the NTP server's workers share mostly added wake-ups.
    // On a 2-core machine under the server benchmark's NTS-KE load, one loop took 335-358 µs of CPU and 1.4-1.5
    // context switches per handshake where two took 372-387 µs and 2.1-2.5, at the same handshake rate (chronyd: one
    // helper process). ntsprocesses (NtsKeServerOptions.EventLoops) sets the count.
    private static readonly int s_defaultLoopCount = Math.Clamp(Environment.ProcessorCount / 2, 1, 8);
    private static readonly NtsAeadAlgorithm[] s_allAlgorithms =
        [NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.AesSivCmac384, NtsAeadAlgorithm.AesSivCmac512, NtsAeadAlgorithm.Aes128GcmSiv];

    // What every granting response lists; shared, as the response only reads it.
    private static readonly IReadOnlyList<NtsNextProtocol> s_ntpv4 = [NtsNextProtocol.Ntpv4];

    private readonly NtsKeServerOptions _options;
    private readonly INtsCookieIssuer _cookieIssuer;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly NtsAeadAlgorithm[] _algorithms;
    private readonly Lock _reloadLock = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<EventLoop> _loops = [];
    private int _wakeFd = -1;
    private ContextHolder _context;
    private string _fileStamp;
    private ITimer? _certificateTimer;
    private IPEndPoint[] _localEndpoints = [];
    private int _active;
    private int _started;
    private int _stopped;

    /// <summary>Checks the options and loads the certificates; <see cref="Start"/> opens the listening sockets.</summary>
    /// <param name="options">Endpoints, certificates, NTP server and port, limits.</param>
    /// <param name="cookieIssuer">Makes the cookies; called from many connections at once, so it must be thread-safe.</param>
    /// <param name="logger">Where to log; nothing is logged when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for the certificate file check; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="TlsConfigurationException">A certificate or key file cannot be used.</exception>
    /// <exception cref="ArgumentException">An option is out of range, e.g. an NTP server name that cannot be sent.</exception>
    public NtsKeServer(NtsKeServerOptions options, INtsCookieIssuer cookieIssuer, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cookieIssuer);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConnections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.NtpPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.NtpPort, IPEndPoint.MaxPort);
        ArgumentOutOfRangeException.ThrowIfNegative(options.EventLoops);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.EventLoops, NtsKeServerOptions.MaxEventLoops);
        if (options.Endpoints is null || options.Endpoints.Count == 0)
        {
            throw new ArgumentException("an NTS-KE server needs at least one endpoint to listen on", nameof(options));
        }

        if (options.NtpServer is not null)
        {
            // The writer checks the name as RFC 8915 §4.1.7 requires; better to fail here than on every connection.
            try
            {
                NtsKeMessageWriter.GetResponseLength(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256, Cookies = [[0]], Server = options.NtpServer });
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"ntsntpserver: {ex.Message}", nameof(options), ex);
            }
        }

        _options = options;
        _cookieIssuer = cookieIssuer;
        _logger = logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _algorithms = (options.AeadAlgorithms ?? s_allAlgorithms).ToArray();

        // Stamp before loading, so that a file changed while it loads is seen as changed by the next check.
        _fileStamp = StampCertificateFiles();
        _context = new ContextHolder(new TlsServerContext(TlsOptions()));
    }

    /// <summary>The counters.</summary>
    public NtsKeServerCounters Counters { get; } = new();

    /// <summary>The event loops (threads) that accept and serve connections: <see cref="NtsKeServerOptions.EventLoops"/>, or the default.</summary>
    public int LoopCount => _options.EventLoops > 0 ? _options.EventLoops : s_defaultLoopCount;

    /// <summary>Connections holding a slot now: from accept until closed, lingering included (tests).</summary>
    internal int ActiveConnections => Volatile.Read(ref _active);

    /// <summary>The event loops <see cref="Start"/> created (tests).</summary>
    internal int StartedLoops => _loops.Count;

    /// <summary>What the event loops' threads have allocated, each as of the end of its last pass (tests).</summary>
    internal long LoopAllocatedBytes => _loops.Sum(l => l.AllocatedBytes);

    /// <summary>
    /// Asked for every accepted connection with the client's address before anything is read (<c>ntsratelimit</c>:
    /// <see cref="Server.ClientLog.AdmitNtsKe"/>); false closes the connection at once, uncounted as accepted.
    /// Set before <see cref="Start"/>; null admits everyone.
    /// </summary>
    public Func<IPAddress, bool>? Admission { get; init; }

    /// <summary>The endpoints listened on, with the real port when port 0 was asked for; empty before <see cref="Start"/>.</summary>
    public IReadOnlyList<IPEndPoint> LocalEndpoints => Volatile.Read(ref _localEndpoints);

    /// <summary>The certificates in service (for status output and expiry warnings).</summary>
    public IReadOnlyList<TlsCertificateInfo> Certificates => Volatile.Read(ref _context).Context.Certificates;

    /// <summary>Binds the endpoints and starts accepting connections.</summary>
    /// <exception cref="SocketException">An endpoint cannot be bound; the message names it.</exception>
    /// <exception cref="InvalidOperationException">The server was already started.</exception>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the NTS-KE server is already started");
        }

        try
        {
            foreach (IPEndPoint endpoint in _options.Endpoints)
            {
                var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                lock (_listeners)
                {
                    _listeners.Add(listener);
                }

                if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
                {
                    listener.DualMode = true;
                }

                try
                {
                    listener.Bind(endpoint);
                    listener.Listen();
                }
                catch (SocketException ex)
                {
                    throw new SocketException((int)ex.SocketErrorCode, $"cannot listen for NTS-KE on TCP {endpoint}: {ex.Message} (check ntsport and that no other server uses it)");
                }
            }
        }
        catch
        {
            CloseListeners();
            throw;
        }

        Volatile.Write(ref _localEndpoints, _listeners.Select(s => (IPEndPoint)s.LocalEndPoint!).ToArray());
        try
        {
            _wakeFd = Interop.Libc.EventFd();
            if (_wakeFd < 0)
            {
                throw new SocketException(-_wakeFd, $"eventfd failed for the NTS-KE server: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-_wakeFd)}");
            }

            foreach (Socket listener in _listeners)
            {
                // The loops accept with accept4 when epoll says a connection is waiting; another loop may have taken
                // it first, which must be EAGAIN, not a blocked thread.
                listener.Blocking = false;
                LogListening(_logger, listener.LocalEndPoint!, LoopCount);
            }

            for (int i = 0; i < LoopCount; i++)
            {
                _loops.Add(new EventLoop(this, _listeners, _wakeFd));
            }
        }
        catch
        {
            foreach (EventLoop loop in _loops)
            {
                loop.Dispose();
            }

            _loops.Clear();
            CloseListeners();
            throw;
        }

        for (int i = 0; i < _loops.Count; i++)
        {
            _loops[i].Start(i);
        }

        string certificates = Describe(Certificates);
        LogCertificates(_logger, certificates);
        TimeSpan interval = _options.CertificateCheckInterval;
        if (interval > TimeSpan.Zero && interval != Timeout.InfiniteTimeSpan)
        {
            _certificateTimer = _timeProvider.CreateTimer(static state => ((NtsKeServer)state!).CheckCertificateFiles(), this, interval, interval);
        }
    }

    /// <summary>
    /// Loads the certificate and key files again and, if they load, serves new connections with them; connections
    /// in progress finish with the old ones. On failure the certificates in service stay and the reason is logged.
    /// </summary>
    /// <returns><see langword="true"/> when the new certificates are in service.</returns>
    public bool ReloadCertificates()
    {
        lock (_reloadLock)
        {
            if (Volatile.Read(ref _stopped) != 0)
            {
                return false;
            }

            // Remember the files as they were tried even when they fail, so that the periodic check does not retry
            // (and log) the same broken files every few seconds; their next change is tried again.
            _fileStamp = StampCertificateFiles();
            TlsServerContext fresh;
            try
            {
                fresh = new TlsServerContext(TlsOptions());
            }
            catch (Exception ex) when (ex is TlsConfigurationException or IOException or UnauthorizedAccessException)
            {
                Counters.CountCertificateReloadFailure();
                LogReloadFailed(_logger, ex.Message);
                return false;
            }

            ContextHolder old = Interlocked.Exchange(ref _context, new ContextHolder(fresh));
            old.Release();
            Counters.CountCertificateReload();
            string certificates = Describe(fresh.Certificates);
            LogReloaded(_logger, certificates);
            return true;
        }
    }

    /// <summary>Stops accepting, ends the connections in progress, and releases the sockets and certificates.</summary>
    /// <returns>A task that completes once every connection has ended.</returns>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        if (_certificateTimer is not null)
        {
            await _certificateTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_wakeFd >= 0)
        {
            // Every loop has the eventfd in its set without EPOLLEXCLUSIVE: one signal wakes them all, and each closes
            // its connections on the way out. The bound is for a loop stuck in a cookie issuer.
            Interop.Libc.SignalEventFd(_wakeFd);
            await Task.WhenAll(_loops.Select(l => l.Completion)).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            foreach (EventLoop loop in _loops)
            {
                loop.Dispose();
            }

            Interop.Libc.Close(_wakeFd);
        }

        CloseListeners();
        lock (_reloadLock)
        {
            _context.Release();
        }
    }

    /// <inheritdoc cref="StopAsync"/>
    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>Stops the server and waits for its connections to end (see <see cref="StopAsync"/>).</summary>
    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    // Runs from the periodic timer: reload when a file's size, time or link target changed since the last attempt.
    internal void CheckCertificateFiles()
    {
        string stamp = StampCertificateFiles();
        lock (_reloadLock)
        {
            if (stamp == _fileStamp)
            {
                return;
            }
        }

        LogCertificateFilesChanged(_logger);
        ReloadCertificates();
    }

    // RFC 8915 §4.1.5: honouring the client's preference is optional; like chrony, take the first algorithm in the
    // client's order that this server accepts.
    internal NtsAeadAlgorithm? ChooseAlgorithm(IReadOnlyList<NtsAeadAlgorithm> offered)
    {
        // Indexed: a foreach over the interface would allocate an enumerator per request.
        for (int i = 0; i < offered.Count; i++)
        {
            NtsAeadAlgorithm algorithm = offered[i];
            if (Array.IndexOf(_algorithms, algorithm) >= 0 && NtsAead.IsSupported(algorithm))
            {
                return algorithm;
            }
        }

        return null;
    }

    private static string Describe(IReadOnlyList<TlsCertificateInfo> certificates) =>
        string.Join("; ", certificates.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Subject} (issued by {c.Issuer}, valid until {c.NotAfter.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'})")));

    private TlsServerOptions TlsOptions() => new()
    {
        Certificates = _options.Certificates,
        HandshakeTimeout = _options.HandshakeTimeout,
    };

    private string StampCertificateFiles()
    {
        var stamp = new StringBuilder();
        foreach (TlsCertificateKeyPair pair in _options.Certificates ?? [])
        {
            foreach (string? path in (string?[])[pair?.CertificateChainFile, pair?.PrivateKeyFile])
            {
                stamp.Append(path).Append('|');
                try
                {
                    // Follow symbolic links (certbot's live/ directory points into archive/): a new target is a change.
                    var file = new FileInfo(path ?? string.Empty);
                    FileSystemInfo target = file.ResolveLinkTarget(returnFinalTarget: true) ?? file;
                    target.Refresh();
                    stamp.Append(target.FullName).Append('|');
                    stamp.Append(target.Exists ? string.Create(CultureInfo.InvariantCulture, $"{(target as FileInfo)?.Length}|{target.LastWriteTimeUtc.Ticks}") : "missing");
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
                {
                    stamp.Append("unreadable");
                }

                stamp.Append('\n');
            }
        }

        return stamp.ToString();
    }

    private void CloseListeners()
    {
        lock (_listeners)
        {
            foreach (Socket listener in _listeners)
            {
                listener.Dispose();
            }
        }
    }

    private void ReleaseSlot() => Interlocked.Decrement(ref _active);

    // The context may be swapped by a reload at any moment: hold it while the session is made (the session then
    // keeps the OpenSSL context alive by itself).
    private TlsSession CreateSession(IPEndPoint? client)
    {
        ContextHolder holder;
        do
        {
            holder = Volatile.Read(ref _context);
        }
        while (!holder.TryAcquire());

        try
        {
            return holder.Context.CreateSessionFor(client);
        }
        finally
        {
            holder.Release();
        }
    }

    // The cookies of the response are the loop's own arrays (see CookieBuffers): the response is written out before
    // the loop answers anyone else, and the arrays are wiped then.
    private NtsKeResponse Answer(Connection connection, NtsKeRequest request, CookieBuffers buffers)
    {
        TlsSession session = connection.Session;
        if (!request.NextProtocols.Contains(NtsNextProtocol.Ntpv4))
        {
            // RFC 8915 §4.1.2: the response lists the protocols granted, which may be none.
            LogNothingGranted(_logger, connection.Peer, "no protocol this server speaks was offered");
            return new NtsKeResponse { NextProtocols = [] };
        }

        if (ChooseAlgorithm(request.AeadAlgorithms) is not NtsAeadAlgorithm algorithm)
        {
            // RFC 8915 §4.1.5: an empty AEAD record when none of the client's algorithms is supported.
            LogNothingGranted(_logger, connection.Peer, "no AEAD algorithm offered is supported");
            return new NtsKeResponse { NextProtocols = s_ntpv4 };
        }

        // Echo record 1024 only with AEAD 30, and then derive as RFC 8915 §5.1 says; without it, AEAD 30 keys come
        // from the context with AEAD id 15, as chrony ≤ 4.6 clients expect.
        bool compliant = algorithm == NtsAeadAlgorithm.Aes128GcmSiv && request.CompliantAes128GcmSivExporter;
        int keyLength = NtsAead.GetKeyLength(algorithm);
        Span<byte> keys = stackalloc byte[2 * MaxKeyLength];
        Span<byte> c2s = keys.Slice(0, keyLength);
        Span<byte> s2c = keys.Slice(MaxKeyLength, keyLength);
        byte[][] cookies = buffers.Cookies;
        byte[] cookie = buffers.Scratch(_cookieIssuer.MaxCookieLength);
        try
        {
            NtsKeKeys.Export(session, algorithm, compliant, c2s, s2c);

            // RFC 8915 §4.1.6: servers SHOULD send eight cookies.
            for (int i = 0; i < cookies.Length; i++)
            {
                int length = _cookieIssuer.IssueCookie(algorithm, c2s, s2c, cookie);
                byte[]? slot = cookies[i];
                if (slot is null || slot.Length != length)
                {
                    // Cookies of one algorithm have one length: the arrays are made again only when that changes.
                    cookies[i] = slot = new byte[length];
                }

                cookie.AsSpan(0, length).CopyTo(slot);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The cookie issuer (no master key yet?) or the exporter failed: RFC 8915 §4.1.3 error 2, the client may retry.
            LogInternalError(_logger, connection.Peer, ex.Message);
            return NtsKeResponse.CreateError(NtsKeErrorCode.InternalServerError);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keys);
            CryptographicOperations.ZeroMemory(cookie);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            // Checked here so that the client's address is formatted only for a log that shows it.
            string context = compliant || algorithm != NtsAeadAlgorithm.Aes128GcmSiv ? "RFC 8915" : "chrony legacy";
            LogAnswered(_logger, connection.Peer, (ushort)algorithm, context, cookies.Length);
        }

        return new NtsKeResponse
        {
            NextProtocols = s_ntpv4,
            AeadAlgorithm = algorithm,
            Cookies = cookies,
            Server = _options.NtpServer,

            // RFC 8915 §4.1.8: without a Port record clients use 123.
            Port = _options.NtpPort == NtsKeResponse.DefaultNtpPort ? null : (ushort)_options.NtpPort,
            CompliantAes128GcmSivExporter = compliant,
        };
    }

    // STYLE rule 25: peer bytes only at Trace.
    private void LogRequestBytes(string peer, ReadOnlyMemory<byte> bytes)
    {
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            ReadOnlySpan<byte> shown = bytes.Span.Slice(0, Math.Min(bytes.Length, MaxLoggedRequestBytes));
            string hex = Convert.ToHexString(shown);
            LogMalformedRequestBytes(_logger, peer, bytes.Length, hex);
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "NTS-KE server listening on TCP {Endpoint} with {Loops} event loop(s)")]
    private static partial void LogListening(ILogger logger, EndPoint endpoint, int loops);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "NTS-KE server certificates: {Certificates}")]
    private static partial void LogCertificates(ILogger logger, string certificates);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "NTS-KE connection from {Peer} closed at once: {Limit} connections are already being served")]
    private static partial void LogConnectionRejected(ILogger logger, EndPoint? peer, int limit);

    [LoggerMessage(EventId = 403, Level = LogLevel.Debug, Message = "NTS-KE TLS handshake with {Peer} failed ({Reason}): {Problem}")]
    private static partial void LogHandshakeFailed(ILogger logger, string peer, TlsFailureReason reason, string problem);

    [LoggerMessage(EventId = 404, Level = LogLevel.Debug, Message = "NTS-KE request from {Peer} rejected with error code {ErrorCode}: {Problem}")]
    private static partial void LogRequestRejected(ILogger logger, string peer, ushort errorCode, string problem);

    [LoggerMessage(EventId = 405, Level = LogLevel.Trace, Message = "NTS-KE malformed request from {Peer}, {Length} bytes: {Hex}")]
    private static partial void LogMalformedRequestBytes(ILogger logger, string peer, int length, string hex);

    [LoggerMessage(EventId = 406, Level = LogLevel.Debug, Message = "NTS-KE request from {Peer} not complete within {Seconds} s; connection closed")]
    private static partial void LogRequestTimeout(ILogger logger, string peer, double seconds);

    [LoggerMessage(EventId = 407, Level = LogLevel.Debug, Message = "NTS-KE answered {Peer}: AEAD {Algorithm} ({Context} exporter context), {Cookies} cookies")]
    private static partial void LogAnswered(ILogger logger, string peer, ushort algorithm, string context, int cookies);

    [LoggerMessage(EventId = 415, Level = LogLevel.Debug, Message = "NTS-KE connection from {Peer} closed at once: ntsratelimit")]
    private static partial void LogConnectionRateLimited(ILogger logger, EndPoint peer);

    [LoggerMessage(EventId = 414, Level = LogLevel.Debug, Message = "NTS-KE answered {Peer} without keys: {Why}")]
    private static partial void LogNothingGranted(ILogger logger, string peer, string why);

    [LoggerMessage(EventId = 408, Level = LogLevel.Warning, Message = "NTS-KE could not issue cookies for {Peer}, answered with Internal Server Error: {Problem}")]
    private static partial void LogInternalError(ILogger logger, string peer, string problem);

    [LoggerMessage(EventId = 409, Level = LogLevel.Debug, Message = "NTS-KE connection with {Peer} ended early: {Problem}")]
    private static partial void LogConnectionFailed(ILogger logger, string peer, string problem);

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "NTS-KE accept failed (errno {Error}): {Problem}; the server goes on")]
    private static partial void LogAcceptFailed(ILogger logger, int error, string problem);

    [LoggerMessage(EventId = 416, Level = LogLevel.Error, Message = "NTS-KE event loop failed, its connections are closed: {Problem}")]
    private static partial void LogLoopFailed(ILogger logger, string problem);

    [LoggerMessage(EventId = 411, Level = LogLevel.Information, Message = "NTS-KE certificate or key file changed; reloading")]
    private static partial void LogCertificateFilesChanged(ILogger logger);

    [LoggerMessage(EventId = 412, Level = LogLevel.Information, Message = "NTS-KE server certificates reloaded: {Certificates}")]
    private static partial void LogReloaded(ILogger logger, string certificates);

    [LoggerMessage(EventId = 413, Level = LogLevel.Error, Message = "NTS-KE certificate reload failed, keeping the certificates in service: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string reason);

    // The cookies of one loop's responses: eight arrays of the cookie length, filled for each response and wiped once
    // it is written (they hold keys, if encrypted), and the issuer's scratch buffer.
    private sealed class CookieBuffers
    {
        private byte[] _scratch = [];

        public byte[][] Cookies { get; } = new byte[NtsKeLimits.MaxCookies][];

        public byte[] Scratch(int length)
        {
            if (_scratch.Length < length)
            {
                _scratch = new byte[length];
            }

            return _scratch;
        }

        public void Wipe()
        {
            foreach (byte[]? cookie in Cookies)
            {
                CryptographicOperations.ZeroMemory(cookie);
            }
        }
    }

    // A TLS context shared by new connections, disposed once it is replaced and no connection is still making a
    // session from it.
    private sealed class ContextHolder(TlsServerContext context)
    {
        private int _references = 1;

        public TlsServerContext Context => context;

        public bool TryAcquire()
        {
            int references;
            do
            {
                references = Volatile.Read(ref _references);
                if (references == 0)
                {
                    return false;
                }
            }
            while (Interlocked.CompareExchange(ref _references, references + 1, references) != references);

            return true;
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                context.Dispose();
            }
        }
    }
}
