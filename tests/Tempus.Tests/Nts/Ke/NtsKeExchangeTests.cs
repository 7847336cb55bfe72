using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Tests.Tls;
using Tempus.Tls;

namespace Tempus.Tests.Nts.Ke;

/// <summary>NtsKeClient against NtsKeServer on loopback (RFC 8915 §4), and each against a peer made by hand.</summary>
public sealed class NtsKeExchangeTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public NtsKeExchangeTests(TestPki pki) => _pki = pki;

    [Theory]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 32)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac512, 64)]
    [InlineData(NtsAeadAlgorithm.Aes128GcmSiv, 16)]
    public async Task ClientAndServerDeriveTheSameKeys(NtsAeadAlgorithm algorithm, int keyLength)
    {
        var issuer = new TransparentCookieIssuer();
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], issuer);

        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile, algorithm));

        Assert.Equal(algorithm, session.Algorithm);
        Assert.Equal(keyLength, session.C2SKey.Length);
        Assert.Equal(keyLength, session.S2CKey.Length);
        Assert.NotEqual(session.C2SKey, session.S2CKey);

        // RFC 8915 §4.1.6: eight cookies, each sealing the keys the server derived from the same TLS session.
        Assert.Equal(8, session.Cookies.Count);
        foreach (byte[] cookie in session.Cookies)
        {
            (NtsAeadAlgorithm sealedAlgorithm, byte[] c2s, byte[] s2c) = TransparentCookieIssuer.Open(cookie);
            Assert.Equal(algorithm, sealedAlgorithm);
            Assert.Equal(session.C2SKey, c2s);
            Assert.Equal(session.S2CKey, s2c);
        }

        Assert.Equal("127.0.0.1", session.KeServer);
        Assert.Equal(server.Port(), session.KePort);
        Assert.Equal("127.0.0.1", session.NtpServer);
        Assert.Equal(123, session.NtpPort);
        Assert.True(session.EstablishedUnixNanoseconds > 0);
        // The server counts the response, then its cookies (one addition), after the client may already have read it.
        await NtsKe.EventuallyAsync(() => server.Counters.Responses == 1 && server.Counters.CookiesIssued != 0, "the server counted its response and cookies");
        Assert.Equal(8, server.Counters.CookiesIssued);
        Assert.Equal(1, server.Counters.HandshakesCompleted);
    }

    [Fact]
    public async Task KeysDifferBetweenExchanges()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        var client = new NtsKeClient();
        NtsKeClientOptions options = NtsKe.ClientOptions(_pki.CaFile);

        NtsSession first = await client.ExchangeAsync("127.0.0.1", server.Port(), options);
        NtsSession second = await client.ExchangeAsync("127.0.0.1", server.Port(), options);

        Assert.NotEqual(first.C2SKey, second.C2SKey);
    }

    [Fact]
    public async Task ServerWithCompliantRecordDerivesAead30KeysWithAead30InTheContext()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        await raw.WriteAsync(NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.Aes128GcmSiv], CompliantAes128GcmSivExporter = true }));
        NtsKeResponse response = NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw));

        Assert.Equal(NtsAeadAlgorithm.Aes128GcmSiv, response.AeadAlgorithm);
        Assert.True(response.CompliantAes128GcmSivExporter);
        (_, byte[] c2s, byte[] s2c) = TransparentCookieIssuer.Open(response.Cookies[0]);
        Assert.Equal(NtsKe.Export(raw, 30, 0, 16), c2s);
        Assert.Equal(NtsKe.Export(raw, 30, 1, 16), s2c);
    }

    [Fact]
    public async Task ServerWithoutCompliantRecordDerivesAead30KeysAsChrony46Does()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        // A chrony ≤ 4.6 client: AEAD 30 without record 1024.
        await raw.WriteAsync(NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.Aes128GcmSiv] }));
        NtsKeResponse response = NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw));

        Assert.Equal(NtsAeadAlgorithm.Aes128GcmSiv, response.AeadAlgorithm);
        Assert.False(response.CompliantAes128GcmSivExporter);
        (_, byte[] c2s, byte[] s2c) = TransparentCookieIssuer.Open(response.Cookies[0]);
        Assert.Equal(NtsKe.Export(raw, 15, 0, 16), c2s);
        Assert.Equal(NtsKe.Export(raw, 15, 1, 16), s2c);
        Assert.NotEqual(NtsKe.Export(raw, 30, 0, 16), c2s);
    }

    [Fact]
    public async Task ServerEchoesTheCompliantRecordOnlyWithAead30()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        await raw.WriteAsync(NtsKe.Request(new NtsKeRequest
        {
            AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.Aes128GcmSiv],
            CompliantAes128GcmSivExporter = true,
        }));
        NtsKeResponse response = NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw));

        Assert.Equal(NtsAeadAlgorithm.AesSivCmac256, response.AeadAlgorithm);
        Assert.False(response.CompliantAes128GcmSivExporter);
        Assert.Null(response.Server);
        Assert.Null(response.Port);
        (_, byte[] c2s, _) = TransparentCookieIssuer.Open(response.Cookies[0]);
        Assert.Equal(NtsKe.Export(raw, 15, 0, 32), c2s);
    }

    [Fact]
    public async Task ClientUsesTheChronyLegacyContextWhenTheServerDoesNotEchoTheCompliantRecord()
    {
        using var tls = new TlsServerContext(new TlsServerOptions { Certificates = [_pki.Localhost] });
        using var loopback = new Loopback();
        byte[]? serverC2s = null;
        byte[]? serverS2c = null;
        Task<NtsKeRequest?> legacyServer = NtsKe.ServeOnceAsync(loopback, tls, async (session, request) =>
        {
            serverC2s = NtsKe.Export(session, 15, 0, 16);
            serverS2c = NtsKe.Export(session, 15, 1, 16);
            await session.WriteAsync(NtsKe.Response(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.Aes128GcmSiv, Cookies = [[1, 2, 3]] }));
        });

        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", loopback.Port, NtsKe.ClientOptions(_pki.CaFile, NtsAeadAlgorithm.Aes128GcmSiv));
        NtsKeRequest? request = await legacyServer;

        // The client offered the compliant context; the server did not take it up.
        Assert.True(request!.CompliantAes128GcmSivExporter);
        Assert.Equal(NtsAeadAlgorithm.Aes128GcmSiv, session.Algorithm);
        Assert.Equal(serverC2s, session.C2SKey);
        Assert.Equal(serverS2c, session.S2CKey);
        Assert.Equal([1, 2, 3], Assert.Single(session.Cookies));
    }

    [Fact]
    public async Task ClientOffersTheDefaultAlgorithmsInOrderWithTheCompliantRecord()
    {
        using var tls = new TlsServerContext(new TlsServerOptions { Certificates = [_pki.Localhost] });
        using var loopback = new Loopback();
        Task<NtsKeRequest?> server = NtsKe.ServeOnceAsync(loopback, tls, (session, request) =>
            session.WriteAsync(NtsKe.Response(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256, Cookies = [[9]] })).AsTask());

        await new NtsKeClient().ExchangeAsync("127.0.0.1", loopback.Port, NtsKe.ClientOptions(_pki.CaFile));
        NtsKeRequest request = (await server)!;

        Assert.Equal([NtsNextProtocol.Ntpv4], request.NextProtocols);
        Assert.Equal([NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.Aes128GcmSiv, NtsAeadAlgorithm.AesSivCmac512], request.AeadAlgorithms);
        Assert.True(request.CompliantAes128GcmSivExporter);
        Assert.Null(request.Server);
        Assert.Null(request.Port);
    }

    [Fact]
    public async Task ServerAndPortRecordsAreHonoured()
    {
        await using NtsKeServer server = NtsKe.StartServer(
            [_pki.Localhost], new TransparentCookieIssuer(), o => o with { NtpServer = "ntp.example.net", NtpPort = 4123 });

        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile));

        Assert.Equal("ntp.example.net", session.NtpServer);
        Assert.Equal(4123, session.NtpPort);
        Assert.Equal("127.0.0.1", session.KeServer);
    }

    [Fact]
    public async Task AddressServerRecordIsHonoured()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer(), o => o with { NtpServer = "192.0.2.7" });

        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile));

        Assert.Equal("192.0.2.7", session.NtpServer);
        Assert.Equal(123, session.NtpPort);
    }

    [Fact]
    public void ServerRefusesAnNtpServerNameItCouldNotSend()
    {
        var ex = Assert.Throws<ArgumentException>(() => new NtsKeServer(
            new NtsKeServerOptions { Certificates = [_pki.Localhost], NtpServer = "bad name" }, new TransparentCookieIssuer()));
        Assert.Contains("ntsntpserver", ex.Message);
    }

    [Theory]
    [InlineData(new[] { NtsAeadAlgorithm.AesSivCmac512, NtsAeadAlgorithm.AesSivCmac256 }, null, NtsAeadAlgorithm.AesSivCmac512)]
    [InlineData(new[] { NtsAeadAlgorithm.Aes128GcmSiv, NtsAeadAlgorithm.AesSivCmac256 }, null, NtsAeadAlgorithm.Aes128GcmSiv)]
    [InlineData(new[] { NtsAeadAlgorithm.Aes128GcmSiv, NtsAeadAlgorithm.AesSivCmac256 }, new[] { NtsAeadAlgorithm.AesSivCmac256 }, NtsAeadAlgorithm.AesSivCmac256)]
    [InlineData(new[] { NtsAeadAlgorithm.AesSivCmac512, NtsAeadAlgorithm.Aes128GcmSiv }, new[] { NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.Aes128GcmSiv }, NtsAeadAlgorithm.Aes128GcmSiv)]
    public async Task ServerChoosesTheClientsFirstAlgorithmItAccepts(NtsAeadAlgorithm[] offered, NtsAeadAlgorithm[]? accepted, NtsAeadAlgorithm chosen)
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer(), o => o with { AeadAlgorithms = accepted });

        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile, offered));

        Assert.Equal(chosen, session.Algorithm);
        Assert.Equal(chosen, TransparentCookieIssuer.Open(session.Cookies.Peek()).Algorithm);
    }

    [Fact]
    public async Task UnknownAlgorithmIdsAreSkippedByTheServer()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        await raw.WriteAsync(NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [(NtsAeadAlgorithm)99, NtsAeadAlgorithm.AesSivCmac512] }));
        NtsKeResponse response = NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw));

        Assert.Equal(NtsAeadAlgorithm.AesSivCmac512, response.AeadAlgorithm);
    }

    [Fact]
    public async Task NoCommonAlgorithmGetsAnEmptyAeadRecordAndTheClientSaysSo()
    {
        await using NtsKeServer server = NtsKe.StartServer(
            [_pki.Localhost], new TransparentCookieIssuer(), o => o with { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256] });

        using (TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port()))
        {
            await raw.WriteAsync(NtsKe.Request(new NtsKeRequest { AeadAlgorithms = [(NtsAeadAlgorithm)99] }));
            NtsKeResponse response = NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw));
            Assert.Equal([NtsNextProtocol.Ntpv4], response.NextProtocols);
            Assert.Null(response.AeadAlgorithm);
            Assert.Empty(response.Cookies);
        }

        var ex = await Assert.ThrowsAsync<NtsKeException>(() =>
            new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile, NtsAeadAlgorithm.AesSivCmac512)));
        Assert.Equal(NtsKeFailureReason.ServerError, ex.Reason);
        Assert.Contains("supports none of the AEAD algorithms offered (17)", ex.Message);
    }

    [Fact]
    public async Task RequestWithoutNtpv4GetsAnEmptyNextProtocolRecord()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsSession raw = await NtsKe.ConnectRawAsync(_pki.CaFile, server.Port());

        await raw.WriteAsync(NtsKe.Request(new NtsKeRequest { NextProtocols = [(NtsNextProtocol)0x7777] }));
        NtsKeResponse response = NtsKe.ParseResponse(await NtsKe.ReadToEndAsync(raw));

        Assert.Empty(response.NextProtocols);
        Assert.Null(response.ErrorCode);
        Assert.Empty(response.Cookies);
    }

    [Fact]
    public async Task FiftyClientsAtOnceAllGetTheirOwnKeys()
    {
        var issuer = new TransparentCookieIssuer();
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], issuer);
        var client = new NtsKeClient();
        NtsKeClientOptions options = NtsKe.ClientOptions(_pki.CaFile) with { HandshakeTimeout = TimeSpan.FromSeconds(20), ResponseTimeout = TimeSpan.FromSeconds(20) };

        NtsSession[] sessions = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.ExchangeAsync("127.0.0.1", server.Port(), options)))
            .WaitAsync(NtsKe.TestTimeout);

        foreach (NtsSession session in sessions)
        {
            Assert.Equal(8, session.Cookies.Count);
            Assert.Equal(session.C2SKey, TransparentCookieIssuer.Open(session.Cookies.Peek()).C2S);
        }

        Assert.Equal(50, sessions.Select(s => Convert.ToHexString(s.C2SKey)).Distinct().Count());
        await NtsKe.EventuallyAsync(() => server.Counters.Responses == 50, "the server counted 50 responses");
        Assert.Equal(400, issuer.Issued);
        Assert.Equal(0, server.Counters.ConnectionsRejected);
        Assert.Equal(0, server.Counters.HandshakesFailed);
    }
}
