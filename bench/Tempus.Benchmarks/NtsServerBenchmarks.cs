using System.Net;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Benchmarks;

/// <summary>
/// The NTS server's per-request path (RFC 8915 §5.7): open the cookie, verify the request under C2S, issue
/// 1 + placeholders new cookies and seal the response under S2C. Budget: 0 B allocated per request.
/// </summary>
[MemoryDiagnoser]
public class NtsServerBenchmarks
{
    private static readonly UInt128 s_client = ((UInt128)0xffff << 32) | 0x7F000001;
    private readonly byte[] _response = new byte[2048];
    private byte[] _request = [];
    private byte[] _previousKeyRequest = [];
    private NtpServerEngine _engine = null!;
    private NtsServerKeyRing _ring = null!;

    /// <summary>The AEAD the client negotiated.</summary>
    [Params(NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.Aes128GcmSiv)]
    public NtsAeadAlgorithm Aead { get; set; }

    /// <summary>Placeholders in the request, i.e. cookies asked for beyond the one replaced.</summary>
    [Params(0, 7)]
    public int Placeholders { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ring = NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600);
        var access = new AccessRules();
        access.Add(true, false, IPNetwork.Parse("127.0.0.0/8"));
        _engine = new NtpServerEngine(RealtimeClock.Instance, null, access, false, now => ReferenceState.Local(2, now), _ring);

        int keyLength = Tempus.Crypto.NtsAead.GetKeyLength(Aead);
        byte[] c2s = RandomNumberGenerator.GetBytes(keyLength);
        byte[] s2c = RandomNumberGenerator.GetBytes(keyLength);
        var session = new NtsSession
        {
            KeServer = "localhost",
            KePort = 4460,
            NtpServer = "localhost",
            NtpPort = 123,
            Algorithm = Aead,
            C2SKey = c2s,
            S2CKey = s2c,
            EstablishedUnixNanoseconds = RealtimeClock.Instance.UnixNanoseconds,
        };

        // A cookie sealed under the key before the current one (ntsrotate), answered with cookies under the current.
        _previousKeyRequest = CreateRequest(session, c2s, s2c);
        _ring.Rotate();
        _request = CreateRequest(session, c2s, s2c);
    }

    [GlobalCleanup]
    public void Cleanup() => _ring.Dispose();

    /// <summary>One NTS request through the server engine.</summary>
    [Benchmark]
    public int ServeNtsRequest() => _engine.Process(_request, s_client, default, _response, out _);

    /// <summary>One NTS request whose cookie was sealed under the previous master key (after a rotation).</summary>
    [Benchmark]
    public int ServeNtsRequestWithPreviousKeyCookie() => _engine.Process(_previousKeyRequest, s_client, default, _response, out _);

    private byte[] CreateRequest(NtsSession session, byte[] c2s, byte[] s2c)
    {
        // Holding 8 - Placeholders cookies makes the request carry exactly Placeholders placeholders.
        session.Cookies.Clear();
        byte[] cookie = new byte[_ring.MaxCookieLength];
        for (int i = 0; i < 8 - Placeholders; i++)
        {
            int length = _ring.IssueCookie(Aead, c2s, s2c, cookie);
            session.Cookies.Enqueue(cookie[..length]);
        }

        return NtsNtpRequest.Create(session, -20).Datagram.ToArray();
    }
}
