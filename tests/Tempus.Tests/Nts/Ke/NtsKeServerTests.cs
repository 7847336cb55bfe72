using System.Net;
using System.Net.Sockets;
using Tempus.Clock;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Tests.Tls;
using Tempus.Tls;

namespace Tempus.Tests.Nts.Ke;

/// <summary>NtsKeServer driven by raw TLS and TCP peers: malformed requests, limits, timeouts, certificate reloads.</summary>
public sealed class NtsKeServerTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public NtsKeServerTests(TestPki pki) => _pki = pki;

    public static TheoryData<string, byte[], NtsKeErrorCode> MalformedRequests() => new()
    {
        // RFC 8915 §4.1.2: a list of 16-bit ids cannot have an odd length.
        { "odd-length next protocol", [0x80, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00], NtsKeErrorCode.BadRequest },

        // An HTTP request: "GE" is a non-critical unknown type whose "T " length is far past the record limit.
        { "HTTP", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), NtsKeErrorCode.BadRequest },

        // RFC 8915 §4.1.3: clients must not send Error records.
        { "error record from a client", [0x80, 0x02, 0x00, 0x02, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00], NtsKeErrorCode.BadRequest },

        // RFC 8915 §4.1.1: End of Message without Next Protocol.
        { "end of message only", [0x80, 0x00, 0x00, 0x00], NtsKeErrorCode.BadRequest },

        // RFC 8915 §4: an unknown record type with the critical bit set.
        { "unknown critical record", [0xF0, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x02, 0x00, 0x0F, 0x80, 0x00, 0x00, 0x00], NtsKeErrorCode.UnrecognizedCriticalRecord },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task MalformedRequestGetsAnErrorRecordThenCloseNotify(string what, byte[] request, NtsKeErrorCode expected)
    {
        var issuer = new TransparentCookieIssuer();
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], issuer);
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        await raw.WriteAsync(request);

        // ReadToEndAsync returns only at the server's close_notify.
        byte[] answer = await NtsKe.ReadToEndAsync(raw);
        Assert.Equal(NtsKe.Response(NtsKeResponse.CreateError(expected)), answer);
        await NtsKe.EventuallyAsync(() => server.Counters.ErrorsSent == 1, "the server counted the error for " + what);
        Assert.Equal(0, server.Counters.Requests);
        Assert.Equal(0, issuer.Issued);
    }

    [Fact]
    public async Task AHandshakeAndItsAnswerAllocateLittleOnTheEventLoop()
    {
        // The loop's own thread, measured exactly (the clients run elsewhere), with the daemon's cookie issuer. About
        // 1.1 KB a handshake: the TLS session and its OpenSSL handles, the client's address, the parsed request and
        // the response; cookie arrays, connections, deadline nodes, peer strings and TLS names brought it to 2.9 KB.
        const int Handshakes = 300;
        const long MaxBytesPerHandshake = 1600;
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600);
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], ring, o => o with { EventLoops = 1 });
        using var context = new TlsClientContext(new TlsClientOptions { ServerName = "localhost", TrustedCertificateFiles = [_pki.CaFile], UseSystemCertificates = false });
        var client = new NtsKeClient(context);
        NtsKeClientOptions options = NtsKe.ClientOptions(_pki.CaFile);

        // Warm up: the first handshakes fill the loop's pools and caches.
        long before = await RunAsync(50);
        long after = await RunAsync(Handshakes);

        long perHandshake = (after - before) / Handshakes;
        Assert.True(perHandshake <= MaxBytesPerHandshake, $"the event loop allocated {perHandshake} B per handshake, more than {MaxBytesPerHandshake} B");

        async Task<long> RunAsync(int count)
        {
            long target = server.Counters.Responses + count;
            for (int i = 0; i < count; i++)
            {
                await client.ExchangeAsync("127.0.0.1", server.Port(), options);
            }

            await NtsKe.EventuallyAsync(() => server.Counters.Responses == target && server.ActiveConnections == 0, "every connection was closed");

            // The loop publishes its count at the end of each pass, and passes at least once a second when idle.
            await Task.Delay(TimeSpan.FromMilliseconds(1500));
            return server.LoopAllocatedBytes;
        }
    }

    [Fact]
    public async Task EventLoopsSetHowManyLoopsServeAndEveryOneAnswers()
    {
        await using NtsKeServer three = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer(), o => o with { EventLoops = 3 });
        Assert.Equal(3, three.LoopCount);
        Assert.Equal(3, three.StartedLoops);

        // More exchanges at once than loops: whichever loop accepts a connection serves it to the end.
        NtsSession[] sessions = await Task.WhenAll(Enumerable.Range(0, 9).Select(_ =>
            new NtsKeClient().ExchangeAsync("127.0.0.1", three.Port(), NtsKe.ClientOptions(_pki.CaFile))));
        Assert.All(sessions, s => Assert.Equal(8, s.Cookies.Count));

        await using NtsKeServer defaults = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        Assert.Equal(Math.Clamp(Environment.ProcessorCount / 2, 1, 8), defaults.StartedLoops);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(NtsKeServerOptions.MaxEventLoops + 1)]
    public void EventLoopsOutOfRangeAreRefused(int loops)
    {
        var options = new NtsKeServerOptions
        {
            Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            Certificates = [_pki.Localhost],
            EventLoops = loops,
        };
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtsKeServer(options, new TransparentCookieIssuer()));
    }

    [Fact]
    public async Task AfterTheResponseTheServerHalfClosesAndReadsWhatTheClientStillSendsInsteadOfResetting()
    {
        // Closing with the client's bytes unread would send a reset, and drop any of the response still unsent.
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer(), o => o with { RequestTimeout = TimeSpan.FromSeconds(60) });
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.Port());
        using var context = new TlsClientContext(new TlsClientOptions { ServerName = "localhost", TrustedCertificateFiles = [_pki.CaFile], UseSystemCertificates = false });
        using TlsSession tls = context.CreateSession(new NetworkStream(socket, ownsSocket: false));
        await tls.HandshakeAsync();
        await tls.WriteAsync(NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256] }));

        // The response, then close_notify and the FIN of the server's half-close.
        Assert.Equal(8, NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(tls)).Cookies.Count);
        Assert.Equal(0, await socket.ReceiveAsync(new byte[16], SocketFlags.None));

        // What a client sends now (here plain bytes; usually its close_notify) is read and dropped: no reset comes back,
        // so the socket holds no error and a second send goes through. A closed server would have answered the first
        // send with a reset, and the second would fail with ECONNRESET or EPIPE.
        Assert.Equal(5, socket.Send("late\n"u8));
        Assert.Equal(0, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!);
        Assert.Equal(5, socket.Send("late\n"u8));
        Assert.Equal(1, server.Counters.Responses);

        // The client's FIN ends the linger: the slot comes back.
        socket.Shutdown(SocketShutdown.Send);
        await NtsKe.EventuallyAsync(() => server.ActiveConnections == 0, "the server closed once the client did");
    }

    [Fact]
    public async Task UnknownNonCriticalRecordIsIgnored()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        await raw.WriteAsync((byte[])[0x70, 0x00, 0x00, 0x01, 0xAA, .. NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256] })]);
        NtsKeResponse response = NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw));

        Assert.Equal(NtsAeadAlgorithm.AesSivCmac256, response.AeadAlgorithm);
        Assert.Equal(8, response.Cookies.Count);
    }

    [Fact]
    public async Task RequestThatStopsBeforeEndOfMessageGetsBadRequest()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());
        byte[] request = NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256] });

        await raw.WriteAsync(request.AsMemory(0, request.Length - 4));
        await raw.ShutdownAsync();

        Assert.Equal(NtsKe.Response(NtsKeResponse.CreateError(NtsKeErrorCode.BadRequest)), await NtsKe.ReadToEndAsync(raw));
    }

    [Fact]
    public async Task RequestArrivingInPiecesIsAnswered()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());
        byte[] request = NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256] });

        foreach (byte b in request)
        {
            await raw.WriteAsync(new[] { b });
        }

        Assert.Equal(8, NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw)).Cookies.Count);
    }

    [Fact]
    public async Task FailingCookieIssuerGetsInternalServerErrorAndTheClientMayRetry()
    {
        var issuer = new TransparentCookieIssuer { Failure = new InvalidOperationException("no cookie key yet") };
        var log = new ListLogger();
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], issuer, logger: log);

        var ex = await Assert.ThrowsAsync<NtsKeException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile)));

        Assert.Equal(NtsKeFailureReason.ServerError, ex.Reason);
        Assert.Equal(NtsKeErrorCode.InternalServerError, ex.ServerErrorCode);
        Assert.True(ex.IsRetryable);
        Assert.Contains("refused: internal server error", ex.Message);
        await NtsKe.EventuallyAsync(() => server.Counters.ErrorsSent == 1, "the server counted the error");
        Assert.Contains(log.Entries, e => e.EventId == 408 && e.Message.Contains("no cookie key yet"));
    }

    [Fact]
    public async Task ClientThatSendsNothingIsDisconnectedAfterTheRequestTimeout()
    {
        await using NtsKeServer server = NtsKe.StartServer(
            [_pki.Localhost], new TransparentCookieIssuer(), o => o with { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        // The server closes without close_notify (its session cannot write after a cancelled read).
        await Assert.ThrowsAsync<TlsException>(() => NtsKe.ReadToEndAsync(raw));
        await NtsKe.EventuallyAsync(() => server.Counters.RequestTimeouts == 1, "the server counted the timeout");
    }

    [Fact]
    public async Task ClientThatNeverStartsItsHandshakeIsClosedAfterTheHandshakeTimeout()
    {
        await using NtsKeServer server = NtsKe.StartServer(
            [_pki.Localhost], new TransparentCookieIssuer(), o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port());

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal(0, await tcp.ReceiveAsync(new byte[16], SocketFlags.None, limit.Token));
        await NtsKe.EventuallyAsync(() => server.Counters.HandshakesFailed == 1, "the timed-out handshake was counted");
    }

    [Fact]
    public async Task IdleConnectionsDoNotHoldUpOtherClients()
    {
        // More silent connections than the server has event loops (one per CPU, at most eight): none of them may
        // keep a thread, so a real client is still answered at once.
        await using NtsKeServer server = NtsKe.StartServer(
            [_pki.Localhost], new TransparentCookieIssuer(), o => o with { HandshakeTimeout = TimeSpan.FromSeconds(30) });
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < 2 * Environment.ProcessorCount + 8; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                await socket.ConnectAsync(IPAddress.Loopback, server.Port());
            }

            // Half a ClientHello on some, so that those loops have a handshake in progress too.
            for (int i = 0; i < idle.Count; i += 2)
            {
                await idle[i].SendAsync((byte[])[0x16, 0x03, 0x01, 0x01, 0x00, 0x01]);
            }

            NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile))
                .WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(8, session.Cookies.Count);
            await NtsKe.EventuallyAsync(() => server.Counters.ConnectionsAccepted == idle.Count + 1, "every connection was accepted");
        }
        finally
        {
            foreach (Socket socket in idle)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task FailedHandshakesAreCountedAndTheServerGoesOn()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using (var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port());
            await tcp.SendAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray());
        }

        await NtsKe.EventuallyAsync(() => server.Counters.HandshakesFailed == 1, "the failed handshake was counted");
        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile));
        Assert.Equal(8, session.Cookies.Count);
    }

    [Fact]
    public async Task ConnectionsOverTheLimitAreClosedAtOnceAndCounted()
    {
        await using NtsKeServer server = NtsKe.StartServer(
            [_pki.Localhost], new TransparentCookieIssuer(), o => o with { MaxConnections = 2, HandshakeTimeout = TimeSpan.FromSeconds(20) });
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                await socket.ConnectAsync(IPAddress.Loopback, server.Port());
            }

            await NtsKe.EventuallyAsync(() => server.Counters.ConnectionsAccepted == 2, "two connections are being served");

            using var third = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await third.ConnectAsync(IPAddress.Loopback, server.Port());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            int read;
            try
            {
                read = await third.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                read = 0;
            }

            Assert.Equal(0, read);
            Assert.Equal(1, server.Counters.ConnectionsRejected);
            Assert.Equal(2, server.Counters.ConnectionsAccepted);
        }
        finally
        {
            foreach (Socket socket in idle)
            {
                socket.Dispose();
            }
        }

        // The idle connections end (their handshakes fail), which frees their places.
        await NtsKe.EventuallyAsync(() => server.Counters.HandshakesFailed == 2, "the idle connections ended");
        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile));
        Assert.Equal(8, session.Cookies.Count);
    }

    [Fact]
    public async Task ChangedCertificateFilesAreReloadedAndABrokenReloadKeepsTheOldCertificates()
    {
        using var first = new TestPki();
        using var second = new TestPki();
        string directory = Path.Combine(first.Directory, "served");
        Directory.CreateDirectory(directory);
        var pair = new TlsCertificateKeyPair(Path.Combine(directory, "server.crt"), Path.Combine(directory, "server.key"));
        DateTime mtime = new(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        void Install(TlsCertificateKeyPair from)
        {
            File.Copy(from.CertificateChainFile, pair.CertificateChainFile, overwrite: true);
            File.Copy(from.PrivateKeyFile, pair.PrivateKeyFile, overwrite: true);

            // Copies made within one clock tick can share a modification time; make each install distinct.
            mtime = mtime.AddMinutes(1);
            File.SetLastWriteTimeUtc(pair.CertificateChainFile, mtime);
            File.SetLastWriteTimeUtc(pair.PrivateKeyFile, mtime);
        }

        Install(first.Localhost);
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var log = new ListLogger();
        await using NtsKeServer server = NtsKe.StartServer(
            [pair], new TransparentCookieIssuer(), o => o with { CertificateCheckInterval = TimeSpan.FromSeconds(5) }, log, clock);
        var client = new NtsKeClient();
        int port = server.Port();

        await client.ExchangeAsync("127.0.0.1", port, NtsKe.ClientOptions(first.CaFile));

        // New files: the next check (5 s on) puts them in service.
        Install(second.Localhost);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, server.Counters.CertificateReloads);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, server.Counters.CertificateReloads);
        await client.ExchangeAsync("127.0.0.1", port, NtsKe.ClientOptions(second.CaFile));
        var untrusted = await Assert.ThrowsAsync<NtsKeException>(() => client.ExchangeAsync("127.0.0.1", port, NtsKe.ClientOptions(first.CaFile)));
        Assert.Equal(TlsFailureReason.UntrustedIssuer, untrusted.TlsReason);

        // A key that does not load: the certificates in service stay, and the log says why.
        File.WriteAllText(pair.PrivateKeyFile, "not a key\n");
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, server.Counters.CertificateReloadFailures);
        Assert.Contains(log.Entries, e => e.EventId == 413 && e.Message.Contains("keeping the certificates in service") && e.Message.Contains(pair.PrivateKeyFile));
        await client.ExchangeAsync("127.0.0.1", port, NtsKe.ClientOptions(second.CaFile));

        // The same broken files are not tried again on every check.
        clock.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(1, server.Counters.CertificateReloadFailures);

        // SIGHUP after the files are fixed.
        Install(first.Localhost);
        Assert.True(server.ReloadCertificates());
        await client.ExchangeAsync("127.0.0.1", port, NtsKe.ClientOptions(first.CaFile));
        Assert.Equal(2, server.Counters.CertificateReloads);
        Assert.Contains("CN=localhost", Assert.Single(server.Certificates).Subject);
    }

    [Fact]
    public async Task ReloadWhileClientsConnectLosesNoConnection()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        var client = new NtsKeClient();
        NtsKeClientOptions options = NtsKe.ClientOptions(_pki.CaFile) with { HandshakeTimeout = TimeSpan.FromSeconds(20), ResponseTimeout = TimeSpan.FromSeconds(20) };

        Task<NtsSession[]> clients = Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.ExchangeAsync("127.0.0.1", server.Port(), options)));
        for (int i = 0; i < 10; i++)
        {
            Assert.True(server.ReloadCertificates());
        }

        Assert.All(await clients.WaitAsync(NtsKe.TestTimeout), s => Assert.Equal(8, s.Cookies.Count));
        Assert.Equal(10, server.Counters.CertificateReloads);
    }

    [Fact]
    public async Task StoppingEndsConnectionsInProgress()
    {
        NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer(), o => o with { HandshakeTimeout = TimeSpan.FromSeconds(30) });
        using var idle = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await idle.ConnectAsync(IPAddress.Loopback, server.Port());
        await NtsKe.EventuallyAsync(() => server.Counters.ConnectionsAccepted == 1, "the connection is being served");

        await server.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, await idle.ReceiveAsync(new byte[16], SocketFlags.None));
        Assert.False(server.ReloadCertificates());
        Assert.Equal(IPAddress.Loopback, Assert.Single(server.LocalEndpoints).Address);
        await server.StopAsync();
    }
}
