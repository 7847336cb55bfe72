using System.Net.Sockets;
using System.Text;
using Tempus.Tls;

namespace Tempus.Tests.Tls;

/// <summary>Client and server TLS sessions for NTS-KE against each other over 127.0.0.1.</summary>
public sealed class TlsSessionTests : IClassFixture<TestPki>
{
    private const string NtsExporterLabel = "EXPORTER-network-time-security";
    private static readonly TimeSpan s_testLimit = TimeSpan.FromSeconds(20);
    private readonly TestPki _pki;

    public TlsSessionTests(TestPki pki) => _pki = pki;

    [Fact]
    public async Task HandshakeAgreesOnTls13AndNtsKeAlpn()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        using (server)
        {
            Assert.True(client.IsEstablished);
            Assert.True(server.IsEstablished);
            Assert.Equal("ntske/1", client.NegotiatedAlpn);
            Assert.Equal("ntske/1", server.NegotiatedAlpn);
            Assert.Equal("TLSv1.3", client.ProtocolVersion);
            Assert.Equal("TLSv1.3", server.ProtocolVersion);
            Assert.StartsWith("TLS_", client.CipherSuite);
            Assert.Equal(client.CipherSuite, server.CipherSuite);
            Assert.Equal("localhost", server.ServerName);
            Assert.False(client.IsServer);
            Assert.True(server.IsServer);
        }
    }

    [Fact]
    public async Task ClientReportsTheServerCertificate()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        using (server)
        {
            TlsCertificateInfo cert = Assert.IsType<TlsCertificateInfo>(client.PeerCertificate);
            Assert.Equal("CN=localhost,O=Tempus Tests", cert.Subject);
            Assert.Equal("CN=Tempus Test CA", cert.Issuer);
            Assert.Equal(_pki.ValidFrom, cert.NotBefore);
            Assert.Equal(_pki.ValidUntil, cert.NotAfter);
            Assert.Null(server.PeerCertificate);
        }
    }

    [Fact]
    public async Task BothSidesExportTheSameKeysPerDirection()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        using (server)
        {
            // RFC 8915 §4.3 / §5.1: context = protocol id 0 (NTPv4), AEAD id 15 (AES-SIV-CMAC-256), 00 = C2S, 01 = S2C.
            byte[] c2sContext = [0x00, 0x00, 0x00, 0x0F, 0x00];
            byte[] s2cContext = [0x00, 0x00, 0x00, 0x0F, 0x01];
            byte[] clientC2s = new byte[32], serverC2s = new byte[32], clientS2c = new byte[32], serverS2c = new byte[32];

            client.ExportKeyingMaterial(NtsExporterLabel, c2sContext, clientC2s);
            server.ExportKeyingMaterial(NtsExporterLabel, c2sContext, serverC2s);
            client.ExportKeyingMaterial(NtsExporterLabel, s2cContext, clientS2c);
            server.ExportKeyingMaterial(NtsExporterLabel, s2cContext, serverS2c);

            Assert.Equal(clientC2s, serverC2s);
            Assert.Equal(clientS2c, serverS2c);
            Assert.NotEqual(clientC2s, clientS2c);
            Assert.Contains(clientC2s, b => b != 0);
        }
    }

    [Fact]
    public async Task ExportedKeysDifferBetweenSessions()
    {
        byte[] first = new byte[32], second = new byte[32];
        for (int i = 0; i < 2; i++)
        {
            (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
            using (client)
            using (server)
            {
                client.ExportKeyingMaterial(NtsExporterLabel, [0, 0, 0, 0x0F, 0], i == 0 ? first : second);
            }
        }

        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task ExportBeforeTheHandshakeIsRefused()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost));
        using var stream = new MemoryStream();
        using TlsSession session = server.CreateSession(stream, "test");
        Assert.Throws<InvalidOperationException>(() => session.ExportKeyingMaterial(NtsExporterLabel, [0], new byte[32]));
    }

    [Fact]
    public async Task DataRoundTripsAndCloseNotifyEndsTheStream()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        using (server)
        {
            byte[] request = Encoding.ASCII.GetBytes("NTS-KE request");
            await client.WriteAsync(request);
            byte[] received = await ReadExactlyAsync(server, request.Length);
            Assert.Equal(request, received);

            // Larger than one TLS record (16 KiB), to cross record and buffer boundaries.
            byte[] response = new byte[70_000];
            new Random(4460).NextBytes(response);
            await server.WriteAsync(response);
            await server.ShutdownAsync();
            byte[] echoed = await ReadExactlyAsync(client, response.Length);
            Assert.Equal(response, echoed);

            Assert.Equal(0, await client.ReadAsync(new byte[16]).AsTask().WaitAsync(s_testLimit));
            await client.ShutdownAsync();
            Assert.Equal(0, await server.ReadAsync(new byte[16]).AsTask().WaitAsync(s_testLimit));
        }
    }

    [Fact]
    public async Task ClientMayCloseAfterItsRequestAndStillReadTheResponse()
    {
        // RFC 8915 §4: each side sends close_notify after its request or response.
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        using (server)
        {
            await client.WriteAsync(new byte[] { 0x80, 0x00, 0x00, 0x00 });
            await client.ShutdownAsync();
            await Assert.ThrowsAsync<InvalidOperationException>(() => client.WriteAsync(new byte[] { 1 }).AsTask());

            Assert.Equal(new byte[] { 0x80, 0x00, 0x00, 0x00 }, await ReadExactlyAsync(server, 4));
            Assert.Equal(0, await server.ReadAsync(new byte[16]).AsTask().WaitAsync(s_testLimit));

            // The server may still answer after the client's close_notify.
            await server.WriteAsync(new byte[] { 0x80, 0x00, 0x00, 0x00, 0x42 });
            await server.ShutdownAsync();

            Assert.Equal(new byte[] { 0x80, 0x00, 0x00, 0x00, 0x42 }, await ReadExactlyAsync(client, 5));
            Assert.Equal(0, await client.ReadAsync(new byte[16]).AsTask().WaitAsync(s_testLimit));

            // Keys can still be exported after both close_notify alerts.
            client.ExportKeyingMaterial(NtsExporterLabel, [0, 0, 0, 0x0F, 0], new byte[32]);
        }
    }

    [Fact]
    public async Task CancelledReadEndsTheSession()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        using (server)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server.ReadAsync(new byte[16], cts.Token).AsTask().WaitAsync(s_testLimit));
            Assert.False(server.IsEstablished);
            await Assert.ThrowsAsync<InvalidOperationException>(() => server.ReadAsync(new byte[16]).AsTask());
        }
    }

    [Fact]
    public async Task PeerClosingWithoutCloseNotifyIsAnError()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        {
            server.Dispose();
            TlsException ex = await Assert.ThrowsAsync<TlsException>(() => client.ReadAsync(new byte[16]).AsTask().WaitAsync(s_testLimit));
            Assert.Contains("without a TLS close_notify", ex.Message);
        }
    }

    [Fact]
    public async Task ClientRefusesAServerThatSelectsNoAlpn()
    {
        using var loopback = new Loopback();
        using Native.SafeSslContextHandle ctx = RawServerContextWithoutAlpn(_pki.Localhost);
        Task<Exception?> serverTask = Task.Run<Exception?>(async () =>
        {
            Socket socket = await loopback.AcceptRawAsync();
            using TlsSession session = TlsSession.CreateServer(ctx, new NetworkStream(socket, ownsSocket: true), true, "client", TimeSpan.FromSeconds(10));
            return await Record.ExceptionAsync(() => session.HandshakeAsync());
        });

        using var client = new TlsClientContext(ClientOptions());
        TlsHandshakeException ex = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.ConnectAsync("127.0.0.1", loopback.Port).WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.NoAlpn, ex.Reason);
        Assert.Contains("did not select any ALPN protocol", ex.Message);
        Assert.Contains("ntske/1", ex.Message);
        await serverTask.WaitAsync(s_testLimit);
    }

    [Fact]
    public async Task ServerRefusesAClientThatOffersNoAlpn()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost));
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);

        using Native.SafeSslContextHandle ctx = RawClientContext(alpn: null);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", loopback.Port);
        using TlsSession client = TlsSession.CreateClient(ctx, new NetworkStream(socket), true, "server", ClientOptions());
        TlsHandshakeException clientEx = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.HandshakeAsync().WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.NoAlpn, clientEx.Reason);
        Assert.Contains("no application protocol", clientEx.Message);

        TlsHandshakeException serverEx = await Assert.ThrowsAsync<TlsHandshakeException>(() => serverTask.WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.NoAlpn, serverEx.Reason);
        Assert.Contains("did not offer ALPN ntske/1", serverEx.Message);
    }

    [Fact]
    public async Task ServerRefusesAClientThatOffersOnlyOtherProtocols()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost));
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);

        using Native.SafeSslContextHandle ctx = RawClientContext(alpn: [8, (byte)'h', (byte)'t', (byte)'t', (byte)'p', (byte)'/', (byte)'1', (byte)'.', (byte)'1']);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", loopback.Port);
        using TlsSession client = TlsSession.CreateClient(ctx, new NetworkStream(socket), true, "server", ClientOptions());
        TlsHandshakeException clientEx = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.HandshakeAsync().WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.NoAlpn, clientEx.Reason);

        TlsHandshakeException serverEx = await Assert.ThrowsAsync<TlsHandshakeException>(() => serverTask.WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.NoAlpn, serverEx.Reason);
        Assert.Contains("offered ALPN http/1.1 but not ntske/1", serverEx.Message);
    }

    [Fact]
    public async Task ServerSignedByAnUntrustedCaIsRejected()
    {
        (TlsHandshakeException client, Exception? server) = await FailAsync(ServerOptions(_pki.Localhost), ClientOptions(ca: _pki.OtherCaFile));
        Assert.Equal(TlsFailureReason.UntrustedIssuer, client.Reason);
        Assert.Contains("unable to get local issuer certificate", client.Message);
        Assert.Contains("the CA bundle does not trust this server; see ntstrustedcerts", client.Message);
        Assert.Contains("issued by CN=Tempus Test CA", client.Message);
        Assert.Contains(client.OpenSslErrors, e => e.Contains("certificate verify failed"));

        // The server learns why from the client's alert.
        TlsHandshakeException serverEx = Assert.IsType<TlsHandshakeException>(server);
        Assert.Equal(TlsFailureReason.PeerAlert, serverEx.Reason);
        Assert.Contains("unknown ca", serverEx.Message);
        Assert.Contains("the client refused this server's certificate", serverEx.Message);
    }

    [Fact]
    public async Task ExpiredCertificateIsRejectedWithDatesAndTheWayOut()
    {
        (TlsHandshakeException client, _) = await FailAsync(ServerOptions(_pki.Expired), ClientOptions());
        Assert.Equal(TlsFailureReason.CertificateExpired, client.Reason);
        Assert.Contains("certificate has expired", client.Message);
        Assert.Contains($"notAfter {_pki.ExpiredUntil.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", client.Message);
        Assert.Contains("this machine's clock says ", client.Message);
        Assert.Contains("the certificate or this machine's clock is wrong; see nocerttimecheck", client.Message);
        Assert.Equal(_pki.ExpiredUntil, client.FailedCertificate?.NotAfter);
    }

    [Fact]
    public async Task ExpiredCertificateIsAcceptedWithoutTimeChecks()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(
            ServerOptions(_pki.Expired), ClientOptions() with { SkipCertificateTimeChecks = true });
        using (client)
        using (server)
        {
            Assert.Equal(_pki.ExpiredUntil, client.PeerCertificate?.NotAfter);
        }
    }

    [Fact]
    public async Task NotYetValidCertificateIsRejected()
    {
        (TlsHandshakeException client, _) = await FailAsync(ServerOptions(_pki.NotYetValid), ClientOptions());
        Assert.Equal(TlsFailureReason.CertificateNotYetValid, client.Reason);
        Assert.Contains("certificate is not yet valid", client.Message);
        Assert.Contains($"notBefore {_pki.NotYetValidFrom.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", client.Message);
        Assert.Contains("nocerttimecheck", client.Message);
    }

    [Fact]
    public async Task CertificateForAnotherNameIsRejected()
    {
        (TlsHandshakeException client, _) = await FailAsync(ServerOptions(_pki.Localhost), ClientOptions(serverName: "ntp.example.org"));
        Assert.Equal(TlsFailureReason.HostnameMismatch, client.Reason);
        Assert.Contains("hostname mismatch", client.Message);
        Assert.Contains("not valid for 'ntp.example.org'", client.Message);
    }

    [Fact]
    public async Task IpLiteralIsCheckedAgainstIpAddressSans()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions(serverName: "127.0.0.1"));
        using (client)
        using (server)
        {
            // RFC 6066 §3: no SNI for an address literal.
            Assert.Null(server.ServerName);
        }

        (TlsHandshakeException mismatch, _) = await FailAsync(ServerOptions(_pki.Localhost), ClientOptions(serverName: "127.0.0.2"));
        Assert.Equal(TlsFailureReason.HostnameMismatch, mismatch.Reason);
        Assert.Contains("IP address mismatch", mismatch.Message);
    }

    [Fact]
    public async Task ServerPicksTheCertificateMatchingSni()
    {
        TlsServerOptions options = ServerOptions(_pki.Localhost, _pki.OtherName);
        (TlsSession client, TlsSession server) = await ConnectAsync(options, ClientOptions(serverName: "ntp.other.example"));
        using (client)
        using (server)
        {
            Assert.Equal("CN=ntp.other.example,O=Tempus Tests", client.PeerCertificate?.Subject);
            Assert.Equal("ntp.other.example", server.ServerName);
        }

        (client, server) = await ConnectAsync(options, ClientOptions(serverName: "localhost"));
        using (client)
        using (server)
        {
            Assert.Equal("CN=localhost,O=Tempus Tests", client.PeerCertificate?.Subject);
        }

        // Unknown SNI: the first pair answers, and the client sees the mismatch.
        (TlsHandshakeException unknown, _) = await FailAsync(options, ClientOptions(serverName: "unknown.example"));
        Assert.Equal(TlsFailureReason.HostnameMismatch, unknown.Reason);
        Assert.Equal("CN=localhost,O=Tempus Tests", unknown.FailedCertificate?.Subject);
    }

    [Fact]
    public async Task NothingListeningIsConnectionRefused()
    {
        using Socket refusing = Loopback.RefusingPort(out int port);
        using var client = new TlsClientContext(ClientOptions());
        TlsHandshakeException ex = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.ConnectAsync("127.0.0.1", port).WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.ConnectionRefused, ex.Reason);
        Assert.Contains($"nothing is listening on 127.0.0.1:{port} (connection refused)", ex.Message);
        Assert.Equal($"127.0.0.1:{port}", ex.Peer);
    }

    [Fact]
    public async Task ServerThatNeverAnswersTimesOut()
    {
        using var loopback = new Loopback();
        Task<Socket> accepted = loopback.AcceptRawAsync();
        using var client = new TlsClientContext(ClientOptions() with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });

        TlsHandshakeException ex = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.ConnectAsync("127.0.0.1", loopback.Port).WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.Timeout, ex.Reason);
        Assert.Contains($"TLS handshake with 127.0.0.1:{loopback.Port} timed out after 0.3 s", ex.Message);
        (await accepted).Dispose();
    }

    [Fact]
    public async Task ClientThatNeverSpeaksTimesOutOnTheServer()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost) with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", loopback.Port);

        TlsHandshakeException ex = await Assert.ThrowsAsync<TlsHandshakeException>(() => serverTask.WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.Timeout, ex.Reason);
        Assert.Contains("timed out after 0.3 s: the client connected but did not complete the handshake", ex.Message);
    }

    [Fact]
    public async Task CancellationIsReportedAsCancellationNotTimeout()
    {
        using var loopback = new Loopback();
        Task<Socket> accepted = loopback.AcceptRawAsync();
        using var client = new TlsClientContext(ClientOptions() with { HandshakeTimeout = TimeSpan.FromSeconds(30) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        Exception ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ConnectAsync("127.0.0.1", loopback.Port, cts.Token).WaitAsync(s_testLimit));
        Assert.IsNotType<TlsHandshakeException>(ex);
        (await accepted).Dispose();
    }

    [Fact]
    public async Task ServerWithoutTlsIsAProtocolError()
    {
        using var loopback = new Loopback();
        Task serverTask = Task.Run(async () =>
        {
            using Socket socket = await loopback.AcceptRawAsync();
            byte[] buffer = new byte[1024];
            await socket.ReceiveAsync(buffer);
            await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\n\r\n"));
        });

        using var client = new TlsClientContext(ClientOptions());
        TlsHandshakeException ex = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.ConnectAsync("127.0.0.1", loopback.Port).WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.ProtocolError, ex.Reason);
        Assert.Contains("does not speak TLS", ex.Message);
        await serverTask.WaitAsync(s_testLimit);
    }

    [Fact]
    public async Task ServerThatClosesAtOnceIsConnectionClosed()
    {
        using var loopback = new Loopback();
        Task serverTask = Task.Run(async () => (await loopback.AcceptRawAsync()).Dispose());

        using var client = new TlsClientContext(ClientOptions());
        TlsHandshakeException ex = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.ConnectAsync("127.0.0.1", loopback.Port).WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.ConnectionClosed, ex.Reason);
        await serverTask.WaitAsync(s_testLimit);
    }

    [Fact]
    public void MissingCertificateFileNamesTheFileAndTheDirective()
    {
        string missing = Path.Combine(_pki.Directory, "missing.crt");
        TlsConfigurationException ex = Assert.Throws<TlsConfigurationException>(
            () => new TlsServerContext(ServerOptions(new TlsCertificateKeyPair(missing, _pki.Localhost.PrivateKeyFile))));
        Assert.Equal(missing, ex.Path);
        Assert.Contains(missing, ex.Message);
        Assert.Contains("ntsservercert", ex.Message);
        Assert.Contains("No such file or directory", ex.Message);
    }

    [Fact]
    public void KeyOfAnotherCertificateIsRejected()
    {
        TlsConfigurationException ex = Assert.Throws<TlsConfigurationException>(
            () => new TlsServerContext(ServerOptions(new TlsCertificateKeyPair(_pki.Localhost.CertificateChainFile, _pki.OtherName.PrivateKeyFile))));
        Assert.Contains("does not match the certificate", ex.Message);
        Assert.Contains("values mismatch", ex.Message);
    }

    [Fact]
    public void TrustedCertificateFileWithoutCertificatesIsRejected()
    {
        TlsConfigurationException ex = Assert.Throws<TlsConfigurationException>(
            () => new TlsClientContext(ClientOptions(ca: _pki.Localhost.PrivateKeyFile)));
        Assert.Equal(_pki.Localhost.PrivateKeyFile, ex.Path);
        Assert.Contains("ntstrustedcerts", ex.Message);
    }

    [Fact]
    public async Task TrustedCertificateDirectoryIsLoaded()
    {
        string directory = Path.Combine(_pki.Directory, "trusted-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        File.Copy(_pki.CaFile, Path.Combine(directory, "tempus-ca.crt"));
        TlsClientOptions options = new()
        {
            ServerName = "localhost",
            UseSystemCertificates = false,
            TrustedCertificateDirectories = [directory],
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        };

        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), options);
        client.Dispose();
        server.Dispose();
    }

    [Fact]
    public void NoTrustAtAllIsAConfigurationError()
    {
        TlsConfigurationException ex = Assert.Throws<TlsConfigurationException>(
            () => new TlsClientContext(new TlsClientOptions { ServerName = "localhost", UseSystemCertificates = false }));
        Assert.Contains("nosystemcert", ex.Message);
    }

    [Fact]
    public void ServerContextReportsItsCertificates()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost, _pki.OtherName));
        Assert.Equal(["CN=localhost,O=Tempus Tests", "CN=ntp.other.example,O=Tempus Tests"], server.Certificates.Select(c => c.Subject));
        Assert.Equal(_pki.ValidUntil, server.Certificates[0].NotAfter);
    }

    [Fact]
    public async Task OneOperationAtATime()
    {
        (TlsSession client, TlsSession server) = await ConnectAsync(ServerOptions(_pki.Localhost), ClientOptions());
        using (client)
        using (server)
        {
            ValueTask<int> pending = server.ReadAsync(new byte[16]);
            await Assert.ThrowsAsync<InvalidOperationException>(() => server.ReadAsync(new byte[16]).AsTask());
            await client.WriteAsync(new byte[] { 1 });
            Assert.Equal(1, await pending.AsTask().WaitAsync(s_testLimit));
        }
    }

    [Fact]
    public async Task ClientThatDefersItsFinishedSendsItWithItsFirstWrite()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost));
        using var client = new TlsClientContext(ClientOptions());
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);
        using TlsSession clientSession = await client.ConnectAsync("127.0.0.1", loopback.Port, deferFinalFlight: true, CancellationToken.None).WaitAsync(s_testLimit);
        Assert.True(clientSession.IsEstablished);

        byte[] request = Encoding.ASCII.GetBytes("NTS-KE request");
        await clientSession.WriteAsync(request);
        using TlsSession serverSession = await serverTask.WaitAsync(s_testLimit);
        Assert.Equal(request, await ReadExactlyAsync(serverSession, request.Length));
    }

    [Fact]
    public async Task ClientThatDefersItsFinishedAndReadsFirstStillCompletesTheHandshake()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost));
        using var client = new TlsClientContext(ClientOptions());
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);
        using TlsSession clientSession = await client.ConnectAsync("127.0.0.1", loopback.Port, deferFinalFlight: true, CancellationToken.None).WaitAsync(s_testLimit);

        // The server finishes its handshake only once the read has sent the client Finished.
        Task<byte[]> read = ReadExactlyAsync(clientSession, 5);
        using TlsSession serverSession = await serverTask.WaitAsync(s_testLimit);
        await serverSession.WriteAsync(Encoding.ASCII.GetBytes("hello"));
        Assert.Equal("hello", Encoding.ASCII.GetString(await read));
    }

    [Fact]
    public async Task PushSessionServesAClientAndQueuesItsResponseWithCloseNotify()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost));
        using var client = new TlsClientContext(ClientOptions());
        using var loopback = new Loopback();
        Task<Socket> accepted = loopback.AcceptRawAsync();
        byte[] request = Encoding.ASCII.GetBytes("NTS-KE request");

        // The client sends its Finished with the request, as an NTS-KE client does.
        Task<TlsSession> clientTask = Task.Run(async () =>
        {
            TlsSession session = await client.ConnectAsync("127.0.0.1", loopback.Port, deferFinalFlight: true, CancellationToken.None);
            await session.WriteAsync(request);
            return session;
        });
        using Socket socket = await accepted.WaitAsync(s_testLimit);
        using TlsSession push = server.CreateSession("test");
        byte[] buffer = new byte[20_000];

        async Task SendOutputAsync()
        {
            int count;
            while ((count = push.TakeOutput(buffer)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, count));
            }
        }

        async Task ReceiveAsync()
        {
            int received = await socket.ReceiveAsync(buffer).WaitAsync(s_testLimit);
            if (received == 0)
            {
                push.PushEndOfInput();
            }
            else
            {
                push.PushInput(buffer.AsSpan(0, received));
            }
        }

        while (!push.StepHandshake())
        {
            await SendOutputAsync();
            await ReceiveAsync();
        }

        await SendOutputAsync();
        Assert.True(push.IsEstablished);
        Assert.Equal(TlsSession.NtsKeAlpnProtocol, push.NegotiatedAlpn);
        using TlsSession clientSession = await clientTask.WaitAsync(s_testLimit);
        byte[] plaintext = new byte[64];
        int read;
        Interop.Ssl.SslStatus status;
        while ((status = push.TryReadPlaintext(plaintext, out read)) == Interop.Ssl.SslStatus.WantRead)
        {
            await ReceiveAsync();
        }

        Assert.Equal(Interop.Ssl.SslStatus.Ok, status);
        Assert.Equal(request, plaintext[..read]);

        // Response and close_notify come out of one TakeOutput: the event loop sends them with one system call.
        byte[] response = Encoding.ASCII.GetBytes("NTS-KE response");
        push.QueueWrite(response, shutdown: true);
        int output = push.TakeOutput(buffer);
        Assert.Equal(0, push.TakeOutput(new byte[16]));
        await socket.SendAsync(buffer.AsMemory(0, output));
        Assert.Equal(response, await ReadExactlyAsync(clientSession, response.Length));
        Assert.Equal(0, await clientSession.ReadAsync(new byte[16]).AsTask().WaitAsync(s_testLimit));
        Assert.Throws<InvalidOperationException>(() => push.QueueWrite(response, shutdown: false));
    }

    [Fact]
    public void PushSessionReportsAClientThatClosesDuringTheHandshake()
    {
        using var server = new TlsServerContext(ServerOptions(_pki.Localhost));
        using TlsSession push = server.CreateSession("test");

        Assert.False(push.StepHandshake());
        push.PushInput([0x16, 0x03, 0x01]);
        push.PushEndOfInput();
        TlsHandshakeException ex = Assert.Throws<TlsHandshakeException>(() => push.StepHandshake());
        Assert.Equal(TlsFailureReason.ConnectionClosed, ex.Reason);
        Assert.Throws<InvalidOperationException>(() => push.StepHandshake());
    }

    internal static async Task<byte[]> ReadExactlyAsync(TlsSession session, int count)
    {
        byte[] buffer = new byte[count];
        int total = 0;
        while (total < count)
        {
            int read = await session.ReadAsync(buffer.AsMemory(total)).AsTask().WaitAsync(s_testLimit);
            Assert.NotEqual(0, read);
            total += read;
        }

        return buffer;
    }

    private static TlsServerOptions ServerOptions(params TlsCertificateKeyPair[] pairs) =>
        new() { Certificates = pairs, HandshakeTimeout = TimeSpan.FromSeconds(10) };

    private TlsClientOptions ClientOptions(string serverName = "localhost", string? ca = null) => new()
    {
        ServerName = serverName,
        TrustedCertificateFiles = [ca ?? _pki.CaFile],
        UseSystemCertificates = false,
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    private static async Task<(TlsSession Client, TlsSession Server)> ConnectAsync(TlsServerOptions serverOptions, TlsClientOptions clientOptions)
    {
        using var server = new TlsServerContext(serverOptions);
        using var client = new TlsClientContext(clientOptions);
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);
        TlsSession clientSession = await client.ConnectAsync("127.0.0.1", loopback.Port).WaitAsync(s_testLimit);
        TlsSession serverSession = await serverTask.WaitAsync(s_testLimit);
        return (clientSession, serverSession);
    }

    private static async Task<(TlsHandshakeException Client, Exception? Server)> FailAsync(TlsServerOptions serverOptions, TlsClientOptions clientOptions)
    {
        using var server = new TlsServerContext(serverOptions);
        using var client = new TlsClientContext(clientOptions);
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);
        TlsHandshakeException clientEx = await Assert.ThrowsAsync<TlsHandshakeException>(() => client.ConnectAsync("127.0.0.1", loopback.Port).WaitAsync(s_testLimit));
        Exception? serverEx = null;
        try
        {
            (await serverTask.WaitAsync(s_testLimit)).Dispose();
        }
        catch (TlsException ex)
        {
            serverEx = ex;
        }

        return (clientEx, serverEx);
    }

    private static Native.SafeSslContextHandle RawServerContextWithoutAlpn(TlsCertificateKeyPair pair)
    {
        Native.SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: true);
        Interop.Ssl.SslCtxUseCertificateChainFile(ctx, pair.CertificateChainFile);
        Interop.Ssl.SslCtxUsePrivateKeyFile(ctx, pair.PrivateKeyFile);
        Interop.Ssl.SslCtxSetVerifyNone(ctx);
        return ctx;
    }

    private Native.SafeSslContextHandle RawClientContext(byte[]? alpn)
    {
        Native.SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: false);
        Interop.Ssl.SslCtxSetVerifyPeer(ctx);
        Interop.Ssl.SslCtxLoadVerifyFile(ctx, _pki.CaFile);
        if (alpn is not null)
        {
            Interop.Ssl.SslCtxSetAlpnProtocols(ctx, alpn);
        }

        return ctx;
    }
}
