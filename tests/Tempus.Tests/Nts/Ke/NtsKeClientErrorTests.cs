using System.Net.Sockets;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Tests.Tls;
using Tempus.Tls;

namespace Tempus.Tests.Nts.Ke;

/// <summary>How NtsKeClient fails: each cause sorted into a reason, with a message that says what to do.</summary>
public sealed class NtsKeClientErrorTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public NtsKeClientErrorTests(TestPki pki) => _pki = pki;

    [Fact]
    public async Task NothingListeningIsConnectionRefused()
    {
        using Socket refusing = Loopback.RefusingPort(out int port);

        var ex = await Assert.ThrowsAsync<NtsKeException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", port, NtsKe.ClientOptions(_pki.CaFile)));

        Assert.Equal(NtsKeFailureReason.ConnectionRefused, ex.Reason);
        Assert.Equal($"127.0.0.1:{port}", ex.Peer);
        Assert.StartsWith($"nothing is listening on 127.0.0.1:{port} (connection refused)", ex.Message);
        Assert.True(ex.IsRetryable);
    }

    [Fact]
    public async Task ServerThatAcceptsAndNeverAnswersIsATimeoutThatAsksAboutTheFirewall()
    {
        using var loopback = new Loopback();
        Task<Socket> accepted = loopback.AcceptRawAsync();
        NtsKeClientOptions options = NtsKe.ClientOptions(_pki.CaFile) with { HandshakeTimeout = TimeSpan.FromMilliseconds(500) };

        var ex = await Assert.ThrowsAsync<NtsKeException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", loopback.Port, options));
        (await accepted).Dispose();

        Assert.Equal(NtsKeFailureReason.Timeout, ex.Reason);
        Assert.StartsWith($"NTS-KE to 127.0.0.1:{loopback.Port} timed out after 0.5 s: is outbound TCP/{loopback.Port} allowed by the firewall?", ex.Message);
    }

    [Fact]
    public async Task ServerThatNeverSendsTheResponseIsATimeout()
    {
        using var tls = new TlsServerContext(new TlsServerOptions { Certificates = [_pki.Localhost] });
        using var loopback = new Loopback();
        var release = new TaskCompletionSource();
        Task<NtsKeRequest?> server = NtsKe.ServeOnceAsync(loopback, tls, (_, _) => release.Task);
        NtsKeClientOptions options = NtsKe.ClientOptions(_pki.CaFile) with { ResponseTimeout = TimeSpan.FromMilliseconds(300) };

        var ex = await Assert.ThrowsAsync<NtsKeException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", loopback.Port, options));
        release.SetResult();
        await server;

        Assert.Equal(NtsKeFailureReason.Timeout, ex.Reason);
        Assert.Contains("did not send a complete response within 0.3 s of the TLS handshake", ex.Message);
    }

    [Fact]
    public async Task CancellationIsReportedAsCancellation()
    {
        using var loopback = new Loopback();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", loopback.Port, NtsKe.ClientOptions(_pki.CaFile), cts.Token));
    }

    [Fact]
    public async Task ServerSignedByAnotherCaKeepsTheTlsMessage()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());

        var ex = await Assert.ThrowsAsync<NtsKeException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.OtherCaFile)));

        Assert.Equal(NtsKeFailureReason.TlsFailure, ex.Reason);
        Assert.Equal(TlsFailureReason.UntrustedIssuer, ex.TlsReason);
        Assert.Contains("the CA bundle does not trust this server; see ntstrustedcerts", ex.Message);
        Assert.IsType<TlsHandshakeException>(ex.InnerException);
        await NtsKe.EventuallyAsync(() => server.Counters.HandshakesFailed == 1, "the server counted the failed handshake");
    }

    [Fact]
    public async Task ExpiredServerCertificateKeepsTheTlsMessage()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Expired], new TransparentCookieIssuer());

        var ex = await Assert.ThrowsAsync<NtsKeException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile)));

        Assert.Equal(TlsFailureReason.CertificateExpired, ex.TlsReason);
        Assert.Contains("nocerttimecheck", ex.Message);
        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile) with { SkipCertificateTimeChecks = true });
        Assert.Equal(8, session.Cookies.Count);
    }

    [Fact]
    public async Task CertificateNameCanDifferFromTheHost()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());

        var ex = await Assert.ThrowsAsync<NtsKeException>(() => new NtsKeClient().ExchangeAsync(
            "127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile) with { CertificateName = "ntp.example.org" }));
        Assert.Equal(TlsFailureReason.HostnameMismatch, ex.TlsReason);

        NtsSession session = await new NtsKeClient().ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile) with { CertificateName = "localhost" });
        Assert.Equal("127.0.0.1", session.NtpServer);
    }

    public static TheoryData<NtsKeErrorCode, string, bool> ServerErrors() => new()
    {
        { NtsKeErrorCode.UnrecognizedCriticalRecord, "refused: unrecognized critical record (error code 0)", false },
        { NtsKeErrorCode.BadRequest, "refused: bad request (error code 1)", false },
        { NtsKeErrorCode.InternalServerError, "refused: internal server error (error code 2)", true },
        { (NtsKeErrorCode)77, "refused: error code 77, which RFC 8915 §4.1.3 does not define", true },
    };

    [Theory]
    [MemberData(nameof(ServerErrors))]
    public async Task ErrorRecordIsAServerErrorThatExplainsTheCode(NtsKeErrorCode code, string expected, bool retryable)
    {
        var ex = await ExchangeWithAsync(NtsKeResponse.CreateError(code));

        Assert.Equal(NtsKeFailureReason.ServerError, ex.Reason);
        Assert.Equal(code, ex.ServerErrorCode);
        Assert.Contains(expected, ex.Message);
        Assert.Equal(retryable, ex.IsRetryable);
    }

    [Fact]
    public async Task WarningRecordIsTreatedAsAnError()
    {
        // RFC 8915 §4.1.4: no warning codes are defined, and unknown ones are errors.
        var ex = await ExchangeWithAsync(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256, Cookies = [[1]], WarningCode = 3 });

        Assert.Equal(NtsKeFailureReason.ServerError, ex.Reason);
        Assert.Equal((ushort)3, ex.ServerWarningCode);
        Assert.Contains("warning code 3", ex.Message);
    }

    [Fact]
    public async Task AlgorithmThatWasNotOfferedIsAProtocolError()
    {
        var ex = await ExchangeWithAsync(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac384, Cookies = [[1]] });

        Assert.Equal(NtsKeFailureReason.ProtocolError, ex.Reason);
        Assert.Contains("chose AEAD algorithm 16, which this client did not offer", ex.Message);
    }

    [Fact]
    public async Task ResponseWithoutNtpv4IsRefused()
    {
        var ex = await ExchangeWithAsync(new NtsKeResponse { NextProtocols = [] });

        Assert.Equal(NtsKeFailureReason.ServerError, ex.Reason);
        Assert.Contains("did not agree to NTPv4", ex.Message);
    }

    [Fact]
    public async Task MalformedResponseIsAProtocolError()
    {
        // A response with an AEAD algorithm but no cookie (RFC 8915 §4.1.6).
        var ex = await ExchangeWithAsync([0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x02, 0x00, 0x0F, 0x80, 0x00, 0x00, 0x00]);

        Assert.Equal(NtsKeFailureReason.ProtocolError, ex.Reason);
        Assert.Contains("sent a malformed response", ex.Message);
        Assert.IsType<NtsKeProtocolException>(ex.InnerException);
    }

    [Fact]
    public async Task ResponseCutShortByCloseNotifyIsAProtocolError()
    {
        byte[] response = NtsKe.Response(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256, Cookies = [[1]] });

        var ex = await ExchangeWithAsync(response[..^4]);

        Assert.Equal(NtsKeFailureReason.ProtocolError, ex.Reason);
        Assert.Contains("without End of Message", ex.Message);
    }

    [Fact]
    public void UnresolvableNameIsADnsFailure()
    {
        var tls = new TlsHandshakeException(
            TlsFailureReason.ConnectionFailed, "ntp.invalid:4460", "cannot resolve ntp.invalid: Name or service not known: check the server name and DNS",
            new SocketException((int)SocketError.HostNotFound));

        NtsKeException ex = NtsKeClient.FromHandshakeFailure(tls, "ntp.invalid:4460", 4460, TimeSpan.FromSeconds(5));

        Assert.Equal(NtsKeFailureReason.DnsFailure, ex.Reason);
        Assert.Equal(TlsFailureReason.ConnectionFailed, ex.TlsReason);
        Assert.Contains("check the server name and DNS", ex.Message);
    }

    [Theory]
    [InlineData(new NtsAeadAlgorithm[0])]
    [InlineData(new[] { (NtsAeadAlgorithm)99 })]
    [InlineData(new[] { NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.AesSivCmac256 })]
    public async Task AlgorithmListThatCannotBeOfferedIsAnArgumentError(NtsAeadAlgorithm[] algorithms)
    {
        NtsKeClientOptions options = NtsKe.ClientOptions(_pki.CaFile) with { AeadAlgorithms = algorithms };

        await Assert.ThrowsAsync<ArgumentException>(() => new NtsKeClient().ExchangeAsync("127.0.0.1", 4460, options));
    }

    private Task<NtsKeException> ExchangeWithAsync(NtsKeResponse response) => ExchangeWithAsync(NtsKe.Response(response));

    private async Task<NtsKeException> ExchangeWithAsync(byte[] response)
    {
        using var tls = new TlsServerContext(new TlsServerOptions { Certificates = [_pki.Localhost] });
        using var loopback = new Loopback();
        Task<NtsKeRequest?> server = NtsKe.ServeOnceAsync(loopback, tls, (session, _) => session.WriteAsync(response).AsTask());

        var ex = await Assert.ThrowsAsync<NtsKeException>(() =>
            new NtsKeClient().ExchangeAsync("127.0.0.1", loopback.Port, NtsKe.ClientOptions(_pki.CaFile, NtsAeadAlgorithm.AesSivCmac256)));
        await server;
        Assert.Equal($"127.0.0.1:{loopback.Port}", ex.Peer);
        return ex;
    }
}
