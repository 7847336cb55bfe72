using Tempus.Nts;
using Tempus.Tests.Tls;
using Tempus.Tls;

namespace Tempus.Tests.Nts.Ke;

/// <summary>
/// NtsKeClient given one TlsClientContext for all its exchanges (a load generator's way of not loading the CA file
/// per handshake): the context serves any number of exchanges, at once too, while the certificate name and the
/// timeouts stay each exchange's, and the daemon's way (a context per exchange) still reads a replaced CA file.
/// </summary>
public sealed class NtsKeClientSharedContextTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public NtsKeClientSharedContextTests(TestPki pki) => _pki = pki;

    [Fact]
    public async Task OneContextServesSuccessiveExchangesEachWithItsOwnHandshake()
    {
        var issuer = new TransparentCookieIssuer();
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], issuer);
        using TlsClientContext context = Context(_pki.CaFile);
        var client = new NtsKeClient(context);

        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 5; i++)
        {
            NtsSession session = await client.ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile));
            Assert.Equal(8, session.Cookies.Count);
            Assert.True(keys.Add(Convert.ToHexString(session.C2SKey)), "each exchange exports keys of its own handshake");
        }

        await NtsKe.EventuallyAsync(() => server.Counters.HandshakesCompleted == 5, "the server completed five handshakes");
    }

    [Fact]
    public async Task CertificateNameIsCheckedOnEveryExchangeOfASharedContext()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());

        // The context's own server name is one the certificate does not carry: the exchanges' names must be used.
        using TlsClientContext context = Context(_pki.CaFile, serverName: "ntp.example.org");
        var client = new NtsKeClient(context);
        NtsKeClientOptions right = NtsKe.ClientOptions(_pki.CaFile) with { CertificateName = "localhost" };
        NtsKeClientOptions wrong = NtsKe.ClientOptions(_pki.CaFile) with { CertificateName = "ntp.example.org" };

        NtsSession first = await client.ExchangeAsync("127.0.0.1", server.Port(), right);
        var ex = await Assert.ThrowsAsync<NtsKeException>(() => client.ExchangeAsync("127.0.0.1", server.Port(), wrong));
        NtsSession byAddress = await client.ExchangeAsync("127.0.0.1", server.Port(), NtsKe.ClientOptions(_pki.CaFile));
        var again = await Assert.ThrowsAsync<NtsKeException>(() => client.ExchangeAsync("127.0.0.1", server.Port(), wrong));

        Assert.Equal(8, first.Cookies.Count);
        Assert.Equal(8, byAddress.Cookies.Count);
        Assert.Equal(TlsFailureReason.HostnameMismatch, ex.TlsReason);
        Assert.Equal(TlsFailureReason.HostnameMismatch, again.TlsReason);
    }

    [Fact]
    public async Task ConcurrentExchangesOnOneContextEachCheckTheirOwnName()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        using TlsClientContext context = Context(_pki.CaFile);
        var client = new NtsKeClient(context);
        NtsKeClientOptions right = NtsKe.ClientOptions(_pki.CaFile);
        NtsKeClientOptions wrong = right with { CertificateName = "ntp.example.org" };

        // Interleaved right and wrong names on one SSL_CTX: a name set on the context instead of on each connection
        // would let some wrong ones through or fail some right ones.
        Task<NtsSession>[] exchanges = Enumerable.Range(0, 16)
            .Select(i => Task.Run(() => client.ExchangeAsync("127.0.0.1", server.Port(), i % 2 == 0 ? right : wrong)))
            .ToArray();
        await Task.WhenAll(exchanges).ContinueWith(_ => { }, TaskScheduler.Default);

        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < exchanges.Length; i++)
        {
            if (i % 2 == 0)
            {
                NtsSession session = await exchanges[i];
                Assert.Equal(8, session.Cookies.Count);
                Assert.True(keys.Add(Convert.ToHexString(session.C2SKey)), "each exchange exports keys of its own handshake");
            }
            else
            {
                var ex = await Assert.ThrowsAsync<NtsKeException>(() => exchanges[i]);
                Assert.Equal(TlsFailureReason.HostnameMismatch, ex.TlsReason);
            }
        }
    }

    [Fact]
    public async Task OptionsWithOtherTrustSettingsThanTheContextAreRejected()
    {
        using TlsClientContext context = Context(_pki.CaFile);
        var client = new NtsKeClient(context);

        // Port 9 (discard) is never reached: the options are refused before any connection.
        var otherCa = await Assert.ThrowsAsync<ArgumentException>(() => client.ExchangeAsync("127.0.0.1", 9, NtsKe.ClientOptions(_pki.OtherCaFile)));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ExchangeAsync("127.0.0.1", 9, NtsKe.ClientOptions(_pki.CaFile) with { UseSystemCertificates = true }));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ExchangeAsync("127.0.0.1", 9, NtsKe.ClientOptions(_pki.CaFile) with { SkipCertificateTimeChecks = true }));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ExchangeAsync("127.0.0.1", 9, NtsKe.ClientOptions(_pki.CaFile) with { TrustedCertificateDirectories = [_pki.Directory] }));

        Assert.Equal("options", otherCa.ParamName);
        Assert.Contains("trust settings", otherCa.Message);
    }

    [Fact]
    public async Task ReplacedCaFileCountsFromTheNextExchangeOnlyWithoutASharedContext()
    {
        await using NtsKeServer server = NtsKe.StartServer([_pki.Localhost], new TransparentCookieIssuer());
        string caFile = Path.Combine(_pki.Directory, $"replaced-{Guid.NewGuid():N}.crt");
        File.Copy(_pki.OtherCaFile, caFile);
        using TlsClientContext context = Context(caFile);
        var shared = new NtsKeClient(context);
        var perExchange = new NtsKeClient();
        NtsKeClientOptions options = NtsKe.ClientOptions(caFile);

        var before = await Assert.ThrowsAsync<NtsKeException>(() => perExchange.ExchangeAsync("127.0.0.1", server.Port(), options));
        File.Copy(_pki.CaFile, caFile, overwrite: true);
        NtsSession after = await perExchange.ExchangeAsync("127.0.0.1", server.Port(), options);
        var sharedAfter = await Assert.ThrowsAsync<NtsKeException>(() => shared.ExchangeAsync("127.0.0.1", server.Port(), options));

        Assert.Equal(TlsFailureReason.UntrustedIssuer, before.TlsReason);
        Assert.Equal(8, after.Cookies.Count);
        Assert.Equal(TlsFailureReason.UntrustedIssuer, sharedAfter.TlsReason);
    }

    [Fact]
    public async Task DisposedContextIsReportedAsDisposed()
    {
        TlsClientContext context = Context(_pki.CaFile);
        var client = new NtsKeClient(context);
        context.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ExchangeAsync("127.0.0.1", 9, NtsKe.ClientOptions(_pki.CaFile)));
    }

    private static TlsClientContext Context(string caFile, string serverName = "localhost") => new(new TlsClientOptions
    {
        ServerName = serverName,
        TrustedCertificateFiles = [caFile],
        UseSystemCertificates = false,
    });
}
