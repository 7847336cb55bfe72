using System.Security.Cryptography;

namespace Tempus.Native.Tests;

/// <summary>The EVP_MD bindings the NTP digest MACs (RFC 5905 §7.3) use, checked against .NET's hashes.</summary>
public sealed class CryptoEvpDigestTests
{
    public static TheoryData<string> DigestNames() => new("MD5", "SHA1", "SHA256", "SHA384", "SHA512");

    [Theory]
    [MemberData(nameof(DigestNames))]
    public void TwoPartDigestIsTheHashOfTheConcatenationAndTheContextStartsOverAfterEach(string name)
    {
        nint md = Interop.Crypto.EvpMdFetch(name);
        try
        {
            using SafeEvpMdCtxHandle ctx = Interop.Crypto.EvpMdCtxCreate(md);
            byte[] output = new byte[Interop.Crypto.EvpMaxMdSize];
            foreach ((int first, int second) in new[] { (20, 48), (0, 0), (64, 64), (1, 200), (130, 0) })
            {
                byte[] a = RandomNumberGenerator.GetBytes(first);
                byte[] b = RandomNumberGenerator.GetBytes(second);
                int length = Interop.Crypto.EvpDigestTwoParts(ctx, a, b, output);
                byte[] expected = CryptographicOperations.HashData(new HashAlgorithmName(name == "SHA1" ? "SHA1" : name), [.. a, .. b]);
                Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(output.AsSpan(0, length)));
            }
        }
        finally
        {
            Interop.Crypto.EvpMdFree(md);
        }
    }

    [Fact]
    public void UnknownDigestIsRefusedNamingIt()
    {
        var e = Assert.ThrowsAny<CryptographicException>(() => Interop.Crypto.EvpMdFetch("NOT-A-DIGEST"));
        Assert.Contains("EVP_MD_fetch(NOT-A-DIGEST)", e.Message, StringComparison.Ordinal);
        Assert.Contains("unsupported", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShortOutputIsMisuseAndLeavesTheContextUsable()
    {
        nint md = Interop.Crypto.EvpMdFetch("SHA256");
        try
        {
            using SafeEvpMdCtxHandle ctx = Interop.Crypto.EvpMdCtxCreate(md);
            Assert.Throws<ArgumentException>(() => Interop.Crypto.EvpDigestTwoParts(ctx, [1, 2], [3], new byte[32]));
            byte[] output = new byte[Interop.Crypto.EvpMaxMdSize];
            Assert.Equal(32, Interop.Crypto.EvpDigestTwoParts(ctx, [1, 2], [3], output));
            Assert.Equal(SHA256.HashData([1, 2, 3]), output[..32]);
        }
        finally
        {
            Interop.Crypto.EvpMdFree(md);
        }
    }
}
