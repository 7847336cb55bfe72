using System.Security.Cryptography;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Protocol;

namespace Tempus.Tests.Nts;

/// <summary>Sessions as an NTS-KE exchange with a <see cref="NtsServerKeyRing"/> would leave them.</summary>
internal static class NtsTestSessions
{
    public static NtsSession Create(NtsServerKeyRing ring, NtsAeadAlgorithm algorithm, int cookies = 8)
    {
        int keyLength = NtsAead.GetKeyLength(algorithm);
        var session = new NtsSession
        {
            KeServer = "127.0.0.1",
            KePort = 4460,
            NtpServer = "127.0.0.1",
            NtpPort = 123,
            Algorithm = algorithm,
            C2SKey = RandomNumberGenerator.GetBytes(keyLength),
            S2CKey = RandomNumberGenerator.GetBytes(keyLength),
            EstablishedUnixNanoseconds = 1_764_000_000_000_000_000,
        };
        for (int i = 0; i < cookies; i++)
        {
            session.Cookies.Enqueue(Issue(ring, session));
        }

        return session;
    }

    public static byte[] Issue(NtsServerKeyRing ring, NtsSession session)
    {
        byte[] cookie = new byte[ring.MaxCookieLength];
        int length = ring.IssueCookie(session.Algorithm, session.C2SKey, session.S2CKey, cookie);
        return cookie[..length];
    }

    public static TheoryData<NtsAeadAlgorithm> Algorithms => new()
    {
        NtsAeadAlgorithm.AesSivCmac256,
        NtsAeadAlgorithm.AesSivCmac384,
        NtsAeadAlgorithm.AesSivCmac512,
        NtsAeadAlgorithm.Aes128GcmSiv,
    };
}
