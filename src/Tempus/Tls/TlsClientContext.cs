using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Tempus.Native;

namespace Tempus.Tls;

/// <summary>
/// An NTS-KE client's TLS configuration, loaded once (trusted CAs, TLS 1.3 only, ALPN <c>ntske/1</c>,
/// certificate and host name verification) and used for any number of connections to one server name.
/// Thread-safe: the OpenSSL context is not changed after the constructor, and each connection verifies the
/// server's name on its own connection object, so any number of threads may connect at once.
/// </summary>
public sealed class TlsClientContext : IDisposable
{
    private readonly SafeSslContextHandle _ctx;
    private bool _disposed;

    /// <summary>Loads the trust configuration of <paramref name="options"/>.</summary>
    /// <exception cref="TlsConfigurationException">A trusted certificate file or directory cannot be used.</exception>
    /// <exception cref="PlatformNotSupportedException">OpenSSL 3 (libssl.so.3) is not available.</exception>
    public TlsClientContext(TlsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ServerName);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.HandshakeTimeout, TimeSpan.Zero);
        if (!options.UseSystemCertificates && options.TrustedCertificateFiles.Count == 0 && options.TrustedCertificateDirectories.Count == 0)
        {
            throw new TlsConfigurationException(
                $"no certificate could be trusted for {options.ServerName}: system certificates are off (nosystemcert) and no ntstrustedcerts file or directory is given");
        }

        Options = options;
        _ctx = Interop.Ssl.SslCtxCreate(isServer: false);
        try
        {
            Interop.Ssl.SslCtxSetVerifyPeer(_ctx);
            if (options.UseSystemCertificates)
            {
                Interop.Ssl.SslCtxSetDefaultVerifyPaths(_ctx);
            }

            foreach (string file in options.TrustedCertificateFiles)
            {
                LoadTrustedFile(file);
            }

            foreach (string directory in options.TrustedCertificateDirectories)
            {
                if (!Directory.Exists(directory))
                {
                    throw new TlsConfigurationException(
                        $"trusted certificate directory '{directory}' does not exist: check ntstrustedcerts", directory);
                }

                // As chrony does for an ntstrustedcerts directory: every *.crt file in it.
                foreach (string file in Directory.EnumerateFiles(directory, "*.crt").Order(StringComparer.Ordinal))
                {
                    LoadTrustedFile(file);
                }
            }

            if (options.SkipCertificateTimeChecks)
            {
                Interop.Ssl.SslCtxSetVerifyFlags(_ctx, Interop.Crypto.X509_V_FLAG_NO_CHECK_TIME);
            }

            // RFC 8915 §4: the client offers ALPN ntske/1.
            Interop.Ssl.SslCtxSetAlpnProtocols(_ctx, [7, (byte)'n', (byte)'t', (byte)'s', (byte)'k', (byte)'e', (byte)'/', (byte)'1']);
        }
        catch
        {
            _ctx.Dispose();
            throw;
        }
    }

    /// <summary>The options this context was made from.</summary>
    public TlsClientOptions Options { get; }

    /// <summary>The OpenSSL context, for tests that attach OpenSSL diagnostics (e.g. a key log).</summary>
    internal SafeSslContextHandle Handle => _ctx;

    /// <summary>True when this machine has a usable OpenSSL 3 for NTS-KE.</summary>
    public static bool IsSupported => Interop.Ssl.IsSupported;

    /// <summary>Why NTS-KE's TLS cannot run on this machine, or null when <see cref="IsSupported"/>.</summary>
    public static string? UnsupportedReason => Interop.Ssl.UnsupportedReason;

    /// <summary>
    /// Opens a TCP connection to <paramref name="host"/>:<paramref name="port"/> and runs the TLS handshake,
    /// both within <see cref="TlsClientOptions.HandshakeTimeout"/>. The certificate is verified against
    /// <see cref="TlsClientOptions.ServerName"/>, which may differ from <paramref name="host"/>.
    /// </summary>
    /// <returns>An established session that owns the socket.</returns>
    /// <exception cref="TlsHandshakeException">Connecting or the handshake failed; <see cref="TlsHandshakeException.Reason"/> says why.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<TlsSession> ConnectAsync(string host, int port, CancellationToken cancellationToken = default) =>
        ConnectAsync(host, port, deferFinalFlight: false, cancellationToken);

    /// <summary><see cref="ConnectAsync(string, int, CancellationToken)"/>, optionally with <see cref="TlsSession.DeferFinalFlight"/>.</summary>
    internal Task<TlsSession> ConnectAsync(string host, int port, bool deferFinalFlight, CancellationToken cancellationToken) =>
        ConnectAsync(host, port, Options, deferFinalFlight, cancellationToken);

    /// <summary>
    /// <see cref="ConnectAsync(string, int, bool, CancellationToken)"/> with the server name and handshake timeout of
    /// <paramref name="session"/> instead of <see cref="Options"/>: one context, loaded once, serves servers of
    /// different names. The trust settings are always this context's.
    /// </summary>
    internal async Task<TlsSession> ConnectAsync(string host, int port, TlsClientOptions session, bool deferFinalFlight, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, IPEndPoint.MinPort);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrWhiteSpace(session.ServerName);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(session.HandshakeTimeout, TimeSpan.Zero);
        ObjectDisposedException.ThrowIf(_disposed, this);

        string peer = FormatPeer(host, port);
        TimeSpan limit = session.HandshakeTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TlsHandshakeException(
                TlsFailureReason.Timeout, peer,
                $"TCP connection to {peer} timed out after {FormatSeconds(limit)} s: is the server up, and is outbound TCP/{port} allowed by the firewall?", ex);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw ex.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => new TlsHandshakeException(
                    TlsFailureReason.ConnectionRefused, peer,
                    $"nothing is listening on {peer} (connection refused): is the NTS-KE server running, and is {port} its NTS-KE port (4460 by default)?", ex),
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => new TlsHandshakeException(
                    TlsFailureReason.ConnectionFailed, peer, $"cannot resolve {host}: {ex.Message}: check the server name and DNS", ex),
                _ => new TlsHandshakeException(
                    TlsFailureReason.ConnectionFailed, peer, $"cannot connect to {peer}: {ex.Message}: check the network route and firewall", ex),
            };
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        // The session owns the stream, and the stream owns the socket.
        var stream = new NetworkStream(socket, ownsSocket: true);
        TlsSession tls;
        try
        {
            tls = TlsSession.CreateClient(_ctx, stream, ownsTransport: true, peer, session);
        }
        catch
        {
            // E.g. this context disposed by another thread since the check above: the socket is not the session's yet.
            stream.Dispose();
            throw;
        }

        tls.DeferFinalFlight = deferFinalFlight;
        try
        {
            await tls.HandshakeWithinAsync(timeout, limit, cancellationToken).ConfigureAwait(false);
            return tls;
        }
        catch
        {
            tls.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a client session over an already connected <paramref name="transport"/>; run
    /// <see cref="TlsSession.HandshakeAsync"/> next.
    /// </summary>
    /// <param name="transport">The connected byte stream to the server.</param>
    /// <param name="peer">How to name the server in messages, e.g. <c>ntp.example.com:4460</c>; defaults to the server name.</param>
    /// <param name="ownsTransport">Whether disposing the session disposes <paramref name="transport"/>.</param>
    public TlsSession CreateSession(Stream transport, string? peer = null, bool ownsTransport = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return TlsSession.CreateClient(_ctx, transport, ownsTransport, peer ?? Options.ServerName, Options);
    }

    /// <summary>Releases the OpenSSL context; sessions already created keep it alive until they are disposed.</summary>
    public void Dispose()
    {
        _disposed = true;
        _ctx.Dispose();
    }

    internal static string FormatPeer(string host, int port) =>
        IPAddress.TryParse(host, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"[{host}]:{port}"
            : $"{host}:{port}";

    internal static string FormatSeconds(TimeSpan time) => time.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private void LoadTrustedFile(string file)
    {
        try
        {
            Interop.Ssl.SslCtxLoadVerifyFile(_ctx, file);
        }
        catch (OpenSslException ex)
        {
            throw new TlsConfigurationException(
                $"cannot load trusted certificates from '{file}': {ex.Reasons ?? "no certificate found"}: check ntstrustedcerts (a PEM file of CA certificates)", file, ex);
        }
    }
}
