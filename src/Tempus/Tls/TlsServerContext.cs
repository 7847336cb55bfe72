using System.Net;
using System.Net.Sockets;
using Tempus.Native;

namespace Tempus.Tls;

/// <summary>
/// An NTS-KE server's TLS configuration: its certificates and keys, loaded once, TLS 1.3 only, and ALPN
/// <c>ntske/1</c> required of every client. Shared by all connections.
/// </summary>
public sealed class TlsServerContext : IDisposable
{
    private readonly SafeSslContextHandle[] _contexts;
    private bool _disposed;

    /// <summary>Loads and checks every certificate/key pair of <paramref name="options"/>.</summary>
    /// <exception cref="TlsConfigurationException">A certificate or key file cannot be used, or a key does not match its certificate.</exception>
    /// <exception cref="PlatformNotSupportedException">OpenSSL 3 (libssl.so.3) is not available.</exception>
    public TlsServerContext(TlsServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.HandshakeTimeout, TimeSpan.Zero);
        if (options.Certificates is null || options.Certificates.Count == 0)
        {
            throw new TlsConfigurationException("an NTS-KE server needs at least one certificate and key: set ntsservercert and ntsserverkey");
        }

        Options = options;
        _contexts = new SafeSslContextHandle[options.Certificates.Count];
        var certificates = new TlsCertificateInfo[options.Certificates.Count];
        try
        {
            for (int i = 0; i < _contexts.Length; i++)
            {
                TlsCertificateKeyPair pair = options.Certificates[i];
                _contexts[i] = CreateContext(pair);
                using SafeX509Handle cert = Interop.Ssl.SslCtxGetCertificate(_contexts[i]);
                certificates[i] = TlsCertificateInfo.From(Interop.Crypto.GetCertificateInfo(cert))!;
            }

            if (_contexts.Length > 1)
            {
                // SNI picks among the pairs; the first context is where every session starts.
                Interop.Ssl.SslCtxSetServerNameAlternatives(_contexts[0], _contexts[1..]);
            }
        }
        catch
        {
            foreach (SafeSslContextHandle? ctx in _contexts)
            {
                ctx?.Dispose();
            }

            throw;
        }

        Certificates = certificates;
    }

    /// <summary>The options this context was made from.</summary>
    public TlsServerOptions Options { get; }

    /// <summary>The loaded server certificates, in the order of <see cref="TlsServerOptions.Certificates"/> (for logging expiry).</summary>
    public IReadOnlyList<TlsCertificateInfo> Certificates { get; }

    /// <summary>
    /// Runs the server side of the TLS handshake on an accepted connection within
    /// <see cref="TlsServerOptions.HandshakeTimeout"/>. The session takes ownership of <paramref name="socket"/>
    /// (it is closed if the handshake fails).
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed; for example the client offered no ALPN <c>ntske/1</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<TlsSession> AcceptAsync(Socket socket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        TlsSession session;
        try
        {
            session = CreateSession(new NetworkStream(socket, ownsSocket: true), socket.RemoteEndPoint?.ToString(), ownsTransport: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        try
        {
            await session.HandshakeAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a server session over an accepted <paramref name="transport"/>; run
    /// <see cref="TlsSession.HandshakeAsync"/> next.
    /// </summary>
    /// <param name="transport">The byte stream from the client.</param>
    /// <param name="peer">How to name the client in messages, e.g. its address and port.</param>
    /// <param name="ownsTransport">Whether disposing the session disposes <paramref name="transport"/>.</param>
    public TlsSession CreateSession(Stream transport, string? peer = null, bool ownsTransport = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return TlsSession.CreateServer(_contexts[0], transport, ownsTransport, "client " + (peer ?? "(unknown)"), Options.HandshakeTimeout);
    }

    /// <summary>A server session with no transport, for an event loop that moves the bytes itself (see <see cref="TlsSession.PushInput"/>).</summary>
    internal TlsSession CreateSession(string? peer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return TlsSession.CreateServer(_contexts[0], "client " + (peer ?? "(unknown)"), Options.HandshakeTimeout);
    }

    /// <summary>As <see cref="CreateSession(string?)"/> for a client at <paramref name="client"/>, whose address is formatted only when a message needs it.</summary>
    internal TlsSession CreateSessionFor(EndPoint? client)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return TlsSession.CreateServer(_contexts[0], client, Options.HandshakeTimeout);
    }

    /// <summary>Releases the OpenSSL contexts; sessions already created keep them alive until they are disposed.</summary>
    public void Dispose()
    {
        _disposed = true;

        // The first context holds references on the others (for SNI), so their order does not matter.
        foreach (SafeSslContextHandle ctx in _contexts)
        {
            ctx.Dispose();
        }
    }

    private static SafeSslContextHandle CreateContext(TlsCertificateKeyPair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: true);
        try
        {
            try
            {
                Interop.Ssl.SslCtxUseCertificateChainFile(ctx, pair.CertificateChainFile);
            }
            catch (OpenSslException ex)
            {
                throw new TlsConfigurationException(
                    $"cannot load the NTS-KE server certificate chain from '{pair.CertificateChainFile}': {ex.Reasons}: check ntsservercert (a PEM file, server certificate first)",
                    pair.CertificateChainFile, ex);
            }

            try
            {
                Interop.Ssl.SslCtxUsePrivateKeyFile(ctx, pair.PrivateKeyFile);
            }
            catch (OpenSslException ex) when (ex.Operation == "SSL_CTX_check_private_key"
                || ex.Contains(Interop.Crypto.ERR_LIB_X509, Interop.Crypto.X509_R_KEY_VALUES_MISMATCH)
                || ex.Contains(Interop.Crypto.ERR_LIB_X509, Interop.Crypto.X509_R_KEY_TYPE_MISMATCH))
            {
                throw new TlsConfigurationException(
                    $"the private key in '{pair.PrivateKeyFile}' does not match the certificate in '{pair.CertificateChainFile}' ({ex.Reasons}): check that ntsserverkey and ntsservercert belong together",
                    pair.PrivateKeyFile, ex);
            }
            catch (OpenSslException ex)
            {
                throw new TlsConfigurationException(
                    $"cannot load the NTS-KE server private key from '{pair.PrivateKeyFile}': {ex.Reasons}: check ntsserverkey (an unencrypted PEM key readable by this process)",
                    pair.PrivateKeyFile, ex);
            }

            Interop.Ssl.SslCtxSetVerifyNone(ctx);

            // RFC 8915 §4: the server accepts ntske/1 and nothing else.
            Interop.Ssl.SslCtxRequireAlpn(ctx, [7, (byte)'n', (byte)'t', (byte)'s', (byte)'k', (byte)'e', (byte)'/', (byte)'1']);
            return ctx;
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }
}
