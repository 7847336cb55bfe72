using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using Tempus.Native;
using static Interop.Ssl;

namespace Tempus.Tls;

/// <summary>
/// One TLS 1.3 connection for NTS-KE, client or server: OpenSSL does the TLS over two memory BIOs and this
/// class moves their bytes to and from a transport <see cref="Stream"/> (normally a
/// <see cref="System.Net.Sockets.NetworkStream"/>). Unlike SslStream it can export keying material
/// (RFC 8915 §4.3 keys come from the RFC 8446 §7.5 exporter). One operation at a time.
/// </summary>
public sealed class TlsSession : IDisposable
{
    /// <summary>The ALPN protocol NTS-KE requires on both sides (RFC 8915 §4).</summary>
    public const string NtsKeAlpnProtocol = "ntske/1";

    // RFC 7301 §3.1 wire form: one-byte length, then the name.
    private static ReadOnlySpan<byte> NtsKeAlpnWire => [7, (byte)'n', (byte)'t', (byte)'s', (byte)'k', (byte)'e', (byte)'/', (byte)'1'];

    // The bytes moved between the transport and OpenSSL's memory BIOs in one step. A TLS record may be larger (2^14
    // plaintext + 256 expansion + 5 header, RFC 8446 §5.2), but both directions loop (BIO_read until empty, any number
    // of reads into the input BIO), so 16 KiB loses nothing, and it is a size the shared pool hands out as is: a
    // record-sized request came back as a 32 KiB array, half of it never used. The buffers come from the shared pool
    // because a busy NTS-KE client or load generator makes hundreds of sessions a second; they only ever hold TLS
    // records, i.e. ciphertext, so nothing secret goes back to the pool.
    private const int BufferSize = 16384;

    private readonly SafeSslHandle _ssl;
    private readonly SafeBioHandle _input;
    private readonly SafeBioHandle _output;
    private readonly Stream _transport;
    private readonly bool _ownsTransport;
    private readonly TimeSpan _handshakeTimeout;
    private readonly string? _expectedServerName;
    private readonly byte[] _receiveBuffer;
    private readonly byte[] _sendBuffer;
    private SessionState _state;
    private int _busy;
    private bool _transportEof;
    private bool _closeNotifyReceived;
    private bool _closeNotifySent;
    private bool _deferFinalFlight;

    private readonly EndPoint? _client;
    private string? _peer;

    private TlsSession(SafeSslContextHandle ctx, bool isServer, Stream? transport, bool ownsTransport, string? peer, TimeSpan handshakeTimeout, string? serverName, EndPoint? client = null)
    {
        // Without a transport (an event loop feeds and drains the BIOs, see PushInput) no record buffers are needed.
        _transport = transport ?? Stream.Null;
        _receiveBuffer = transport is null ? [] : ArrayPool<byte>.Shared.Rent(BufferSize);
        _sendBuffer = transport is null ? [] : ArrayPool<byte>.Shared.Rent(BufferSize);
        _ownsTransport = ownsTransport;
        _handshakeTimeout = handshakeTimeout;
        _expectedServerName = serverName;
        IsServer = isServer;
        _peer = peer;
        _client = client;
        _ssl = SslCreate(ctx, isServer, new SslCallbackState(), out _input, out _output);
        if (serverName is not null)
        {
            try
            {
                SslSetExpectedPeer(_ssl, serverName, IPAddress.TryParse(serverName, out _));
            }
            catch
            {
                DisposeNative();
                throw;
            }
        }
    }

    private enum SessionState
    {
        New,
        Handshaking,
        Established,
        Failed,
        Disposed,
    }

    /// <summary>True for the server side of the connection.</summary>
    public bool IsServer { get; }

    // A server's event loop gives the client's address, formatted only when a message needs it: most sessions never do.

    /// <summary>The other side as it appears in error messages: <c>host:port</c>, or the client's address on a server.</summary>
    public string Peer => _peer ??= "client " + (_client?.ToString() ?? "(unknown)");

    /// <summary>True once the handshake has completed and ALPN <c>ntske/1</c> was agreed.</summary>
    public bool IsEstablished => _state == SessionState.Established;

    /// <summary>The ALPN protocol agreed in the handshake (always <see cref="NtsKeAlpnProtocol"/> once established).</summary>
    public string? NegotiatedAlpn { get; private set; }

    /// <summary>The server's certificate as seen by a client after the handshake; null on a server (clients are anonymous).</summary>
    public TlsCertificateInfo? PeerCertificate { get; private set; }

    /// <summary>SNI: on a client, the name it sent; on a server, the name the client asked for (null when none).</summary>
    public string? ServerName { get; private set; }

    /// <summary>The negotiated cipher suite, e.g. <c>TLS_AES_256_GCM_SHA384</c>.</summary>
    public string? CipherSuite { get; private set; }

    /// <summary>The negotiated protocol version; always <c>TLSv1.3</c>.</summary>
    public string? ProtocolVersion { get; private set; }

    internal static TlsSession CreateClient(SafeSslContextHandle ctx, Stream transport, bool ownsTransport, string peer, TlsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return new(ctx, isServer: false, transport, ownsTransport, peer, options.HandshakeTimeout, options.ServerName);
    }

    internal static TlsSession CreateServer(SafeSslContextHandle ctx, Stream transport, bool ownsTransport, string peer, TimeSpan handshakeTimeout)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return new(ctx, isServer: true, transport, ownsTransport, peer, handshakeTimeout, serverName: null);
    }

    /// <summary>A server session with no transport, driven by <see cref="PushInput"/>, <see cref="StepHandshake"/>, <see cref="TryReadPlaintext"/>, <see cref="QueueWrite"/> and <see cref="TakeOutput"/>.</summary>
    internal static TlsSession CreateServer(SafeSslContextHandle ctx, string peer, TimeSpan handshakeTimeout) =>
        new(ctx, isServer: true, transport: null, ownsTransport: false, peer, handshakeTimeout, serverName: null);

    /// <summary>As <see cref="CreateServer(SafeSslContextHandle, string, TimeSpan)"/>, with <see cref="Peer"/> <c>client</c> and <paramref name="client"/>'s address, made only when first asked for.</summary>
    internal static TlsSession CreateServer(SafeSslContextHandle ctx, EndPoint? client, TimeSpan handshakeTimeout) =>
        new(ctx, isServer: true, transport: null, ownsTransport: false, peer: null, handshakeTimeout, serverName: null, client);

    /// <summary>
    /// Runs the TLS 1.3 handshake within the configured handshake timeout, then checks that ALPN
    /// <c>ntske/1</c> was agreed.
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out; the message says why and what to do.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task HandshakeAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_handshakeTimeout);
        await HandshakeWithinAsync(timeout, _handshakeTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads decrypted application data. Returns 0 once the peer has sent close_notify. Reading still works
    /// after <see cref="ShutdownAsync"/> (an NTS-KE client may close its side before the response arrives).
    /// Cancelling a read ends the session.
    /// </summary>
    /// <exception cref="TlsException">The connection broke, or the peer closed TCP without close_notify (the data may be truncated).</exception>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnterOperation();
        try
        {
            if (buffer.IsEmpty || _closeNotifyReceived)
            {
                return 0;
            }

            while (true)
            {
                SslStatus status = SslRead(_ssl, buffer.Span, out int read, out OpenSslException? error);
                if (status == SslStatus.Error)
                {
                    await TryFlushOutputAsync(cancellationToken).ConfigureAwait(false);
                    throw Fail(CreateIoException("reading from", error!));
                }

                // Reading can make OpenSSL answer (a KeyUpdate): send that first.
                await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
                switch (status)
                {
                    case SslStatus.Ok:
                        return read;
                    case SslStatus.Closed:
                        _closeNotifyReceived = true;
                        return 0;
                    default:
                        await FillInputAsync(cancellationToken).ConfigureAwait(false);
                        continue;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && _state == SessionState.Established)
        {
            // A read cut off halfway leaves the byte streams in an unknown state: the session cannot go on.
            _state = SessionState.Failed;
            throw;
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>Encrypts and sends all of <paramref name="buffer"/>. Cancelling a write ends the session.</summary>
    /// <exception cref="TlsException">The connection broke.</exception>
    /// <exception cref="InvalidOperationException">This side has already sent close_notify (<see cref="ShutdownAsync"/>).</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnterOperation();
        try
        {
            if (_closeNotifySent)
            {
                throw new InvalidOperationException($"the TLS session with {Peer} is shut down for writing (ShutdownAsync was called)");
            }

            if (buffer.IsEmpty)
            {
                return;
            }

            if (SslWrite(_ssl, buffer.Span, out OpenSslException? error) != SslStatus.Ok)
            {
                throw Fail(CreateIoException("writing to", error!));
            }

            await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
            await _transport.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && _state == SessionState.Established)
        {
            _state = SessionState.Failed;
            throw;
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Sends close_notify (RFC 8915 §4: each side sends it after its request or response). Does not wait
    /// for the peer's, which RFC 8446 §6.1 allows; <see cref="ReadAsync"/> still works afterwards. Does
    /// nothing if the session is not established or close_notify was already sent.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken = default)
    {
        if (_state != SessionState.Established || _closeNotifySent)
        {
            return;
        }

        EnterOperation();
        try
        {
            if (SslShutdown(_ssl, out OpenSslException? error) != SslStatus.Ok)
            {
                throw Fail(CreateIoException("closing", error!));
            }

            _closeNotifySent = true;
            await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
            await _transport.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// The TLS exporter (RFC 8446 §7.5, SSL_export_keying_material with a context): fills
    /// <paramref name="output"/> with keying material both sides derive identically. For NTS-KE the label is
    /// <c>EXPORTER-network-time-security</c> and the context the 5 bytes of RFC 8915 §4.3
    /// (protocol id, AEAD id, 00 for client-to-server or 01 for server-to-client).
    /// </summary>
    /// <exception cref="InvalidOperationException">The handshake has not completed.</exception>
    public void ExportKeyingMaterial(string label, ReadOnlySpan<byte> context, Span<byte> output)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        ObjectDisposedException.ThrowIf(_state == SessionState.Disposed, this);
        if (_state != SessionState.Established)
        {
            throw new InvalidOperationException($"keying material can only be exported after a successful handshake (session is {_state})");
        }

        if (output.IsEmpty)
        {
            throw new ArgumentException("the output span is empty", nameof(output));
        }

        if (!Ascii.IsValid(label))
        {
            throw new ArgumentException("an exporter label is ASCII (RFC 5705 §4)", nameof(label));
        }

        Span<byte> labelBytes = label.Length <= 256 ? stackalloc byte[label.Length] : new byte[label.Length];
        Encoding.ASCII.GetBytes(label, labelBytes);
        try
        {
            SslExportKeyingMaterial(_ssl, labelBytes, context, output);
        }
        catch (OpenSslException ex)
        {
            throw new TlsException($"exporting keying material from the TLS session with {Peer} failed: {ex.Reasons}", Texts(ex), ex);
        }
    }

    /// <summary>Frees the OpenSSL session and, when the session owns it, closes the transport.</summary>
    public void Dispose()
    {
        if (_state == SessionState.Disposed)
        {
            return;
        }

        _state = SessionState.Disposed;
        DisposeNative();
        if (_ownsTransport)
        {
            _transport.Dispose();
        }

        // Taking the operation flag keeps any later operation from starting; if one is still running (Dispose
        // called concurrently, which the one-operation rule does not forbid), its transport read or write may
        // still touch the buffers, so they are left to the GC rather than handed to someone else.
        if (Interlocked.Exchange(ref _busy, 1) == 0 && _receiveBuffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_receiveBuffer);
            ArrayPool<byte>.Shared.Return(_sendBuffer);
        }
    }

    // The push interface: an event loop that owns the socket hands received bytes in and sends what OpenSSL queued,
    // with no task, stream or thread-pool hop per step (issue 5). One caller at a time, like the async methods.

    /// <summary>Bytes received from the peer.</summary>
    internal void PushInput(ReadOnlySpan<byte> received) => Interop.Crypto.BioWrite(_input, received);

    /// <summary>The peer closed its side of TCP: OpenSSL's next call reports the end instead of asking for more.</summary>
    internal void PushEndOfInput()
    {
        _transportEof = true;
        Interop.Crypto.BioSetMemEofReached(_input);
    }

    /// <summary>Moves up to <paramref name="destination"/>'s length of the bytes OpenSSL queued for the peer; 0 when none.</summary>
    internal int TakeOutput(Span<byte> destination) => Math.Max(0, Interop.Crypto.BioRead(_output, destination));

    /// <summary>
    /// Runs the handshake as far as the input allows: true once it has completed with ALPN ntske/1 (the session is
    /// established), false when it needs more input. Send <see cref="TakeOutput"/> after each call, also after a failure
    /// (the alert).
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed; the session cannot be used.</exception>
    internal bool StepHandshake()
    {
        ObjectDisposedException.ThrowIf(_state == SessionState.Disposed, this);
        if (_state == SessionState.New)
        {
            _state = SessionState.Handshaking;
        }
        else if (_state != SessionState.Handshaking)
        {
            throw new InvalidOperationException($"the TLS session with {Peer} is {_state}; expected a handshake in progress");
        }

        try
        {
            switch (SslDoHandshake(_ssl, out OpenSslException? error))
            {
                case SslStatus.Error:
                    throw CreateHandshakeException(error!);
                case SslStatus.Closed:
                    throw new TlsHandshakeException(TlsFailureReason.ConnectionClosed, Peer, $"{Peer} closed the TLS session during the handshake");
                case SslStatus.WantRead when _transportEof:
                    throw new TlsHandshakeException(TlsFailureReason.ConnectionClosed, Peer, $"{Peer} closed the connection during the TLS handshake");
                case SslStatus.WantRead:
                    return false;
            }

            CheckAlpn();
            _state = SessionState.Established;
            return true;
        }
        catch
        {
            _state = SessionState.Failed;
            throw;
        }
    }

    /// <summary>The handshake timeout as the async handshake reports it.</summary>
    internal TlsHandshakeException CreateTimeoutException(TimeSpan timeout) =>
        new(TlsFailureReason.Timeout, Peer, DescribeTimeout(timeout), null);

    /// <summary>
    /// Decrypts what the input holds into <paramref name="buffer"/>: <see cref="SslStatus.Ok"/> with the count,
    /// <see cref="SslStatus.WantRead"/> when more input is needed, <see cref="SslStatus.Closed"/> at the peer's close_notify.
    /// </summary>
    /// <exception cref="TlsException">The connection broke, or the peer closed TCP without close_notify.</exception>
    internal SslStatus TryReadPlaintext(Span<byte> buffer, out int read)
    {
        EnterOperation();
        try
        {
            read = 0;
            if (_closeNotifyReceived)
            {
                return SslStatus.Closed;
            }

            SslStatus status = SslRead(_ssl, buffer, out read, out OpenSslException? error);
            switch (status)
            {
                case SslStatus.Error:
                    throw Fail(CreateIoException("reading from", error!));
                case SslStatus.Closed:
                    _closeNotifyReceived = true;
                    break;
                case SslStatus.WantRead when _transportEof:
                    throw Fail(new TlsException($"{Peer} closed the TCP connection without a TLS close_notify; the data may be truncated", [], null));
            }

            return status;
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>Encrypts <paramref name="data"/> and, with <paramref name="shutdown"/>, close_notify after it, into the output.</summary>
    /// <exception cref="TlsException">OpenSSL refused.</exception>
    internal void QueueWrite(ReadOnlySpan<byte> data, bool shutdown)
    {
        EnterOperation();
        try
        {
            if (_closeNotifySent)
            {
                throw new InvalidOperationException($"the TLS session with {Peer} is shut down for writing");
            }

            if (!data.IsEmpty && SslWrite(_ssl, data, out OpenSslException? error) != SslStatus.Ok)
            {
                throw Fail(CreateIoException("writing to", error!));
            }

            if (shutdown)
            {
                if (SslShutdown(_ssl, out OpenSslException? shutdownError) != SslStatus.Ok)
                {
                    throw Fail(CreateIoException("closing", shutdownError!));
                }

                _closeNotifySent = true;
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Client: keep the last handshake flight (the client Finished) in the output BIO when the handshake completes,
    /// so that the first write sends it in the same TCP segment as the request (or the first read sends it before
    /// waiting). An NTS-KE client always writes its request next, and the server then gets Finished and request in one
    /// receive instead of two wake-ups (issue 5). Set before the handshake.
    /// </summary>
    internal bool DeferFinalFlight
    {
        get => _deferFinalFlight;
        set => _deferFinalFlight = value && !IsServer;
    }

    internal async Task HandshakeWithinAsync(CancellationTokenSource timeout, TimeSpan reportedTimeout, CancellationToken cancellationToken)
    {
        EnterOperation(SessionState.New);
        _state = SessionState.Handshaking;
        try
        {
            await RunHandshakeAsync(timeout.Token).ConfigureAwait(false);
            CheckAlpn();
            _state = SessionState.Established;
        }
        catch (Exception ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            _state = SessionState.Failed;
            throw new TlsHandshakeException(TlsFailureReason.Timeout, Peer, DescribeTimeout(reportedTimeout), ex);
        }
        catch (IOException ex) when (ex is not TlsException)
        {
            _state = SessionState.Failed;
            throw new TlsHandshakeException(
                TlsFailureReason.ConnectionClosed, Peer, $"TLS handshake with {Peer} failed: the connection broke ({ex.Message})", ex);
        }
        catch
        {
            _state = SessionState.Failed;
            throw;
        }
        finally
        {
            ExitOperation();
        }
    }

    private async Task RunHandshakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            SslStatus status = SslDoHandshake(_ssl, out OpenSslException? error);
            if (status == SslStatus.Error)
            {
                // Send the alert OpenSSL queued, so the peer learns why; the peer may already be gone.
                await TryFlushOutputAsync(cancellationToken).ConfigureAwait(false);
                throw CreateHandshakeException(error!);
            }

            if (status == SslStatus.Ok && _deferFinalFlight)
            {
                return;
            }

            await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
            if (status == SslStatus.Ok)
            {
                return;
            }

            if (status == SslStatus.Closed)
            {
                throw new TlsHandshakeException(TlsFailureReason.ConnectionClosed, Peer, $"{Peer} closed the TLS session during the handshake");
            }

            await FillInputAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void CheckAlpn()
    {
        NegotiatedAlpn = SslGetAlpnSelected(_ssl);
        CipherSuite = SslGetCipherName(_ssl);
        ProtocolVersion = SslGetProtocolVersion(_ssl);
        ServerName = IsServer ? SslGetServerNameIndication(_ssl) : _expectedServerName;
        if (!IsServer)
        {
            PeerCertificate = TlsCertificateInfo.From(SslGetPeerCertificateInfo(_ssl));
        }

        // RFC 8915 §4: the client offers, and the server accepts, ntske/1. OpenSSL lets a client finish a
        // handshake in which the server ignored ALPN, so the client checks here.
        if (NegotiatedAlpn != NtsKeAlpnProtocol)
        {
            string got = NegotiatedAlpn is null ? "did not select any ALPN protocol" : $"selected ALPN protocol '{NegotiatedAlpn}'";
            throw new TlsHandshakeException(
                TlsFailureReason.NoAlpn,
                Peer,
                IsServer
                    ? $"TLS handshake with {Peer} refused: the client {got} instead of {NtsKeAlpnProtocol}; it is not an NTS-KE client"
                    : $"TLS handshake with {Peer} refused: the server {got} instead of {NtsKeAlpnProtocol} (RFC 8915 §4): it is not an NTS-KE server, or this is not its NTS-KE port (4460 by default)");
        }
    }

    private TlsHandshakeException CreateHandshakeException(OpenSslException error)
    {
        SslCallbackState state = _ssl.State;
        string reasons = error.Reasons ?? (_transportEof ? "unexpected EOF" : "no reason given by OpenSSL");
        IReadOnlyList<string> texts = Texts(error);

        if (IsServer && state.ClientOfferedNoAlpn)
        {
            return new TlsHandshakeException(
                TlsFailureReason.NoAlpn, Peer,
                $"TLS handshake with {Peer} refused: the client did not offer ALPN {NtsKeAlpnProtocol} (RFC 8915 §4); it is not an NTS-KE client",
                texts, null, error);
        }

        if (IsServer && state.RejectedAlpnOffer is { } offered)
        {
            return new TlsHandshakeException(
                TlsFailureReason.NoAlpn, Peer,
                $"TLS handshake with {Peer} refused: the client offered ALPN {offered} but not {NtsKeAlpnProtocol} (RFC 8915 §4); it is not an NTS-KE client",
                texts, null, error);
        }

        if (HasSslReason(error, SSL_AD_REASON_OFFSET + SSL_AD_NO_APPLICATION_PROTOCOL))
        {
            return new TlsHandshakeException(
                TlsFailureReason.NoAlpn, Peer,
                $"TLS handshake with {Peer} refused: {reasons}: the peer does not accept ALPN {NtsKeAlpnProtocol}; it is not an NTS-KE {(IsServer ? "client" : "server")}"
                + (IsServer ? string.Empty : ", or this is not its NTS-KE port (4460 by default)"),
                texts, null, error);
        }

        if (!IsServer && HasSslReason(error, SSL_R_CERTIFICATE_VERIFY_FAILED))
        {
            return CreateCertificateException(state.FirstVerifyFailure, texts, error);
        }

        if (HasSslReason(error, SSL_R_UNEXPECTED_EOF_WHILE_READING) || (_transportEof && error.Errors.Count == 0))
        {
            return new TlsHandshakeException(
                TlsFailureReason.ConnectionClosed, Peer,
                IsServer
                    ? $"{Peer} closed the connection during the TLS handshake"
                    : $"{Peer} closed the connection during the TLS handshake: does this server allow this client, and is this its NTS-KE port (4460 by default)?",
                texts, null, error);
        }

        if (HasSslReason(error, SSL_R_WRONG_VERSION_NUMBER) || HasSslReason(error, SSL_R_PACKET_LENGTH_TOO_LONG))
        {
            return new TlsHandshakeException(
                TlsFailureReason.ProtocolError, Peer,
                $"TLS handshake with {Peer} failed: {reasons}: the peer does not speak TLS; is this its NTS-KE port (4460 by default)?",
                texts, null, error);
        }

        if (HasSslReason(error, SSL_R_UNSUPPORTED_PROTOCOL) || HasSslReason(error, SSL_AD_REASON_OFFSET + SSL_AD_PROTOCOL_VERSION))
        {
            return new TlsHandshakeException(
                TlsFailureReason.ProtocolError, Peer,
                $"TLS handshake with {Peer} failed: {reasons}: the peer does not offer TLS 1.3, which NTS requires (RFC 8915 §3)",
                texts, null, error);
        }

        if (error.Errors.FirstOrDefault(e => e.Library == Interop.Crypto.ERR_LIB_SSL && e.ReasonCode is > SSL_AD_REASON_OFFSET and < SSL_AD_REASON_OFFSET + 256) is { Code: not 0 } alert)
        {
            // RFC 8446 §6.2: alerts 42-46 and 48 say the receiver refused the certificate.
            bool certificateRefused = (alert.ReasonCode - SSL_AD_REASON_OFFSET) is (>= 42 and <= 46) or 48;
            string message = (IsServer, certificateRefused) switch
            {
                (true, true) => $"TLS handshake with {Peer} aborted: the client refused this server's certificate ({alert.Reason}): "
                    + "check that ntsservercert is current and complete (server certificate, then intermediates) and that clients trust its CA",
                (true, false) => $"TLS handshake with {Peer} aborted by the client: {alert.Reason}",
                _ => $"TLS handshake with {Peer} aborted by the server: {alert.Reason}",
            };
            return new TlsHandshakeException(TlsFailureReason.PeerAlert, Peer, message, texts, null, error);
        }

        return new TlsHandshakeException(TlsFailureReason.ProtocolError, Peer, $"TLS handshake with {Peer} failed: {reasons}", texts, null, error);
    }

    private TlsHandshakeException CreateCertificateException(X509VerifyFailure? failure, IReadOnlyList<string> texts, OpenSslException error)
    {
        long code = failure?.Error ?? SslGetVerifyResultCode(_ssl);
        string what = Interop.Crypto.GetVerifyErrorString(code);
        TlsCertificateInfo? cert = TlsCertificateInfo.From(failure?.Certificate);
        string subject = cert is null ? string.Empty : cert.Subject + (failure!.Depth > 0 ? $" (CA at chain depth {failure.Depth})" : string.Empty);
        string prefix = $"TLS certificate of {Peer} rejected: {what}";

        // OpenSSL checks validity against the system clock (time(2)), so the message quotes that clock.
        string now = FormatTime(DateTimeOffset.UtcNow);
        (TlsFailureReason reason, string message) = code switch
        {
            Interop.Crypto.X509_V_ERR_CERT_HAS_EXPIRED => (TlsFailureReason.CertificateExpired,
                $"{prefix} ({Join(subject, cert is null ? null : "notAfter " + FormatTime(cert.NotAfter))}; this machine's clock says {now}): "
                + "the certificate or this machine's clock is wrong; see nocerttimecheck"),
            Interop.Crypto.X509_V_ERR_CERT_NOT_YET_VALID => (TlsFailureReason.CertificateNotYetValid,
                $"{prefix} ({Join(subject, cert is null ? null : "notBefore " + FormatTime(cert.NotBefore))}; this machine's clock says {now}): "
                + "this machine's clock is probably behind, or the certificate was issued wrongly; see nocerttimecheck"),
            Interop.Crypto.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
                or Interop.Crypto.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                or Interop.Crypto.X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
                or Interop.Crypto.X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                or Interop.Crypto.X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
                or Interop.Crypto.X509_V_ERR_CERT_UNTRUSTED => (TlsFailureReason.UntrustedIssuer,
                $"{prefix}{(cert is null ? string.Empty : $" ({subject}, issued by {cert.Issuer})")}: "
                + "the CA bundle does not trust this server; see ntstrustedcerts (and nosystemcert)"),
            Interop.Crypto.X509_V_ERR_HOSTNAME_MISMATCH or Interop.Crypto.X509_V_ERR_IP_ADDRESS_MISMATCH => (TlsFailureReason.HostnameMismatch,
                $"{prefix}: the certificate{(cert is null ? string.Empty : $" ({subject})")} is not valid for '{_expectedServerName}'; "
                + "configure the server by a name its certificate lists in subjectAltName"),
            _ => (TlsFailureReason.CertificateInvalid, $"{prefix}{(cert is null ? string.Empty : $" ({subject})")}"),
        };

        return new TlsHandshakeException(reason, Peer, message, texts, cert, error);
    }

    private TlsException CreateIoException(string action, OpenSslException error)
    {
        if (HasSslReason(error, SSL_R_UNEXPECTED_EOF_WHILE_READING) || (_transportEof && error.Errors.Count == 0))
        {
            return new TlsException(
                $"{Peer} closed the TCP connection without a TLS close_notify; the data may be truncated", Texts(error), error);
        }

        return new TlsException($"TLS error {action} {Peer}: {error.Reasons ?? "no reason given by OpenSSL"}", Texts(error), error);
    }

    private string DescribeTimeout(TimeSpan timeout)
    {
        string seconds = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        return IsServer
            ? $"TLS handshake with {Peer} timed out after {seconds} s: the client connected but did not complete the handshake"
            : $"TLS handshake with {Peer} timed out after {seconds} s: the server accepted the TCP connection but did not answer; is this its NTS-KE port (4460 by default)?";
    }

    /// <summary>Moves everything OpenSSL queued for the peer from the output BIO to the transport.</summary>
    private async ValueTask FlushOutputAsync(CancellationToken cancellationToken)
    {
        int count;
        while ((count = Interop.Crypto.BioRead(_output, _sendBuffer)) > 0)
        {
            await _transport.WriteAsync(_sendBuffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask TryFlushOutputAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer may have closed already; the handshake error is what matters.
        }
    }

    /// <summary>
    /// Reads from the transport into the input BIO. On end of stream, marks the BIO so that OpenSSL's next
    /// call reports the EOF (as an error, or as close_notify if one arrived) instead of asking for more.
    /// </summary>
    private async ValueTask FillInputAsync(CancellationToken cancellationToken)
    {
        if (_transportEof)
        {
            // OpenSSL asked for more after it was told of the EOF; never spin on a closed stream.
            throw new EndOfStreamException($"{Peer} closed the connection");
        }

        int count = await _transport.ReadAsync(_receiveBuffer, cancellationToken).ConfigureAwait(false);
        if (count == 0)
        {
            _transportEof = true;
            Interop.Crypto.BioSetMemEofReached(_input);
            return;
        }

        Interop.Crypto.BioWrite(_input, _receiveBuffer.AsSpan(0, count));
    }

    private TlsException Fail(TlsException exception)
    {
        _state = SessionState.Failed;
        return exception;
    }

    private void EnterOperation(SessionState required = SessionState.Established)
    {
        ObjectDisposedException.ThrowIf(_state == SessionState.Disposed, this);
        if (_state != required)
        {
            throw new InvalidOperationException(_state switch
            {
                SessionState.New => "the TLS handshake has not been run; call HandshakeAsync first",
                SessionState.Failed => $"the TLS session with {Peer} has failed and cannot be used",
                _ => $"the TLS session with {Peer} is {_state}; expected {required}",
            });
        }

        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("a TLS session runs one operation at a time; await the previous one first");
        }
    }

    private void ExitOperation() => Volatile.Write(ref _busy, 0);

    private void DisposeNative()
    {
        // The BIO handles hold references on the SSL; release them first so SSL_free runs (and frees the BIOs).
        _input.Dispose();
        _output.Dispose();
        _ssl.Dispose();
    }

    private static bool HasSslReason(OpenSslException error, int reason) => error.Contains(Interop.Crypto.ERR_LIB_SSL, reason);

    private static string[] Texts(OpenSslException error) => error.Errors.Select(e => e.Text).ToArray();

    private static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Join(string first, string? second) =>
        string.IsNullOrEmpty(first) ? second ?? string.Empty : second is null ? first : $"{first}, {second}";
}
