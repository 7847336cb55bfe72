using System.Buffers.Binary;
using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Testing;
using Tempus.Tests.Crypto;

namespace Tempus.Tests.Auth;

public sealed class SymmetricKeyTests
{
    public static TheoryData<MacAlgorithm> AllAlgorithms() => new(Enum.GetValues<MacAlgorithm>());

    [Theory]
    [InlineData(MacAlgorithm.Sha256)]
    [InlineData(MacAlgorithm.Sha384)]
    [InlineData(MacAlgorithm.Sha512)]
    public void LongShaDigestIsTheFirst20BytesOfHashOfKeyAndData(MacAlgorithm algorithm)
    {
        byte[] secret = RandomNumberGenerator.GetBytes(32);
        using var key = new SymmetricKey(7, algorithm, secret, "test");
        foreach (int length in new[] { 0, 48, 1000, 5000 })
        {
            byte[] data = RandomNumberGenerator.GetBytes(length);
            byte[] full = algorithm switch
            {
                MacAlgorithm.Sha256 => SHA256.HashData([.. secret, .. data]),
                MacAlgorithm.Sha384 => SHA384.HashData([.. secret, .. data]),
                _ => SHA512.HashData([.. secret, .. data]),
            };
            byte[] digest = new byte[20];
            Assert.Equal(20, key.ComputeDigest(data, digest));
            Assert.Equal(full[..20], digest);
        }
    }

    [Theory]
    [InlineData(MacAlgorithm.Md5, 16)]
    [InlineData(MacAlgorithm.Sha1, 20)]
    public void ClassicDigestIsHashOfKeyAndData(MacAlgorithm algorithm, int length)
    {
        byte[] secret = RandomNumberGenerator.GetBytes(20);
        byte[] data = RandomNumberGenerator.GetBytes(2000);
#pragma warning disable CA5350, CA5351 // The algorithms under test.
        byte[] expected = algorithm == MacAlgorithm.Md5 ? MD5.HashData([.. secret, .. data]) : SHA1.HashData([.. secret, .. data]);
#pragma warning restore CA5350, CA5351
        using var key = new SymmetricKey(7, algorithm, secret, "test");
        byte[] digest = new byte[length];
        Assert.Equal(length, key.ComputeDigest(data, digest));
        Assert.Equal(expected, digest);
        Assert.Equal(length, key.DigestLength);
    }

    [Fact]
    public void Aes256CmacKeyMatchesSp80038bExample()
    {
        // NIST SP 800-38B D.3 Example 11 (Mlen = 320).
        using var key = new SymmetricKey(1, MacAlgorithm.Aes256Cmac, Convert.FromHexString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"), "test");
        byte[] digest = new byte[16];
        Assert.Equal(16, key.ComputeDigest(Convert.FromHexString("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411"), digest));
        Assert.Equal("aaf3d8f1de5640c232f5b169b9c911e6", Convert.ToHexStringLower(digest));
        Assert.Equal(256, key.KeyLengthBits);
    }

    [Fact]
    public void Aes128CmacKeyMatchesAnIndependentImplementation()
    {
        byte[] secret = RandomNumberGenerator.GetBytes(16);
        byte[] data = RandomNumberGenerator.GetBytes(68);
        using var key = new SymmetricKey(1, MacAlgorithm.Aes128Cmac, secret, "test");
        byte[] digest = new byte[16];
        key.ComputeDigest(data, digest);
        Assert.Equal(AesCmacTests.ReferenceCmac(secret, data), digest);
    }

    [Theory]
    [MemberData(nameof(AllAlgorithms))]
    public void WriteMacIsBigEndianKeyIdThenDigest(MacAlgorithm algorithm)
    {
        using SymmetricKey key = NewKey(0xdeadbeef, algorithm);
        byte[] data = RandomNumberGenerator.GetBytes(48);
        byte[] mac = new byte[key.MacLength + 3];
        Assert.Equal(4 + MacAlgorithms.DigestLength(algorithm), key.WriteMac(data, mac));
        Assert.Equal(0xdeadbeef, BinaryPrimitives.ReadUInt32BigEndian(mac));
        Assert.True(key.VerifyDigest(data, mac.AsSpan(4, key.DigestLength)));
        Assert.Equal(new byte[3], mac[^3..]);
        Assert.False(key.TryWriteMac(data, new byte[key.MacLength - 1], out int written));
        Assert.Equal(0, written);
        Assert.Throws<ArgumentException>(() => key.WriteMac(data, new byte[key.MacLength - 1]));
    }

    [Theory]
    [MemberData(nameof(AllAlgorithms))]
    public void VerifyRejectsEverySingleBitFlipAndWrongLengths(MacAlgorithm algorithm)
    {
        using SymmetricKey key = NewKey(3, algorithm);
        byte[] data = RandomNumberGenerator.GetBytes(48);
        byte[] digest = new byte[key.DigestLength];
        key.ComputeDigest(data, digest);
        Assert.True(key.VerifyDigest(data, digest));
        for (int bit = 0; bit < digest.Length * 8; bit++)
        {
            byte[] flipped = (byte[])digest.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(key.VerifyDigest(data, flipped));
        }

        for (int bit = 0; bit < data.Length * 8; bit++)
        {
            byte[] altered = (byte[])data.Clone();
            altered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(key.VerifyDigest(altered, digest));
        }

        Assert.False(key.VerifyDigest(data, digest.AsSpan(0, digest.Length - 1)));
        Assert.False(key.VerifyDigest(data, [.. digest, 0]));
        Assert.False(key.VerifyDigest(data, []));

        // A SHA-256 MAC is not the SHA-256 hash in full.
        if (algorithm == MacAlgorithm.Sha256)
        {
            Assert.False(key.VerifyDigest(data, new byte[32]));
        }
    }

    [Theory]
    [MemberData(nameof(AllAlgorithms))]
    public void ComputeAndVerifyAllocateNothingAfterWarmUp(MacAlgorithm algorithm)
    {
        using SymmetricKey key = NewKey(9, algorithm);
        byte[] packet = new byte[48];
        byte[] large = new byte[4000];
        byte[] digest = new byte[20];
        byte[] mac = new byte[24];
        for (int i = 0; i < 100; i++)
        {
            key.ComputeDigest(packet, digest);
            key.ComputeDigest(large, digest);
            key.VerifyDigest(packet, digest.AsSpan(0, key.DigestLength));
            key.WriteMac(packet, mac);
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    key.ComputeDigest(packet, digest);
                    key.ComputeDigest(large, digest);
                    key.VerifyDigest(packet, digest.AsSpan(0, key.DigestLength));
                    key.WriteMac(packet, mac);
                }
            },
            "1000 digests and MACs");
    }

    [Theory]
    [MemberData(nameof(AllAlgorithms))]
    public void ConcurrentWorkersGetCorrectDigests(MacAlgorithm algorithm)
    {
        using SymmetricKey key = NewKey(9, algorithm);
        byte[][] packets = Enumerable.Range(0, 32).Select(i => RandomNumberGenerator.GetBytes(48 + (i * 40))).ToArray();
        byte[][] expected = packets.Select(p =>
        {
            byte[] d = new byte[key.DigestLength];
            key.ComputeDigest(p, d);
            return d;
        }).ToArray();
        Parallel.For(0, 10_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            Assert.True(key.VerifyDigest(packets[i % packets.Length], expected[i % packets.Length]));
        });
    }

    [Theory]
    [InlineData(MacAlgorithm.Aes128Cmac, 15, "AES128 needs a 128-bit key, got 120 bits")]
    [InlineData(MacAlgorithm.Aes128Cmac, 32, "AES128 needs a 128-bit key, got 256 bits")]
    [InlineData(MacAlgorithm.Aes256Cmac, 16, "AES256 needs a 256-bit key, got 128 bits")]
    [InlineData(MacAlgorithm.Sha1, 0, "the key is empty")]
    public void KeyOfTheWrongLengthIsRefused(MacAlgorithm algorithm, int length, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new SymmetricKey(1, algorithm, new byte[length], "test"));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void KeyIdZeroIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new SymmetricKey(0, MacAlgorithm.Sha1, new byte[20], "test"));
    }

    [Fact]
    public void ShortDigestBufferIsMisuse()
    {
        using SymmetricKey key = NewKey(1, MacAlgorithm.Sha1);
        Assert.Throws<ArgumentException>(() => key.ComputeDigest([], new byte[19]));
    }

    [Theory]
    [MemberData(nameof(AllAlgorithms))]
    public void UseAfterDisposeThrows(MacAlgorithm algorithm)
    {
        SymmetricKey key = NewKey(1, algorithm);
        key.Dispose();
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.ComputeDigest([], new byte[20]));
        Assert.Throws<ObjectDisposedException>(() => key.VerifyDigest([], new byte[key.DigestLength]));
    }

    [Fact]
    public void DescriptionNamesTheKeyButNotTheSecret()
    {
        using var key = new SymmetricKey(5, MacAlgorithm.Aes128Cmac, Convert.FromHexString("000102030405060708090a0b0c0d0e0f"), "/etc/chrony.keys:3");
        Assert.Equal("key 5 (AES128, 128 bits) from /etc/chrony.keys:3", key.ToString());
        Assert.Equal(5u, key.Id);
        Assert.Equal(MacAlgorithm.Aes128Cmac, key.Algorithm);
        Assert.Equal("/etc/chrony.keys:3", key.Origin);
        Assert.Equal(20, key.MacLength);
    }

    internal static SymmetricKey NewKey(uint id, MacAlgorithm algorithm)
    {
        int length = MacAlgorithms.RequiredKeyLength(algorithm) is 0 ? 20 : MacAlgorithms.RequiredKeyLength(algorithm);
        return new SymmetricKey(id, algorithm, RandomNumberGenerator.GetBytes(length), "test");
    }
}
