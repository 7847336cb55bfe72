using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Testing;

namespace Tempus.Tests.Auth;

/// <summary>
/// The RFC 5905 §7.3 digests H(key || data) computed through OpenSSL's EVP_MD with per-thread contexts
/// (<see cref="KeyedDigest"/>), checked against .NET's one-shot hash of the concatenation as the reference.
/// </summary>
public sealed class KeyedDigestTests
{
    private static readonly MacAlgorithm[] Digests = [MacAlgorithm.Md5, MacAlgorithm.Sha1, MacAlgorithm.Sha256, MacAlgorithm.Sha384, MacAlgorithm.Sha512];

    // Around the MD5/SHA-1/SHA-256 (64-byte) and SHA-384/512 (128-byte) block and length-padding boundaries.
    private static readonly int[] DataLengths = [0, 1, 35, 36, 43, 44, 47, 48, 55, 56, 63, 64, 68, 100, 111, 112, 127, 128, 129, 1000, 5000];

    public static TheoryData<MacAlgorithm> DigestAlgorithms() => new(Digests);

    [Theory]
    [MemberData(nameof(DigestAlgorithms))]
    public void FullHashIsTheOneShotHashOfKeyThenData(MacAlgorithm algorithm)
    {
        foreach (int keyLength in new[] { 1, 16, 20, 64, 65, 200 })
        {
            byte[] secret = RandomNumberGenerator.GetBytes(keyLength);
            foreach (int length in DataLengths)
            {
                byte[] data = RandomNumberGenerator.GetBytes(length);
                byte[] hash = new byte[KeyedDigest.MaxHashLength];
                int written = KeyedDigest.Compute(algorithm, secret, data, hash);
                byte[] expected = Reference(algorithm, secret, data);
                Assert.Equal(expected.Length, written);
                Assert.True(expected.AsSpan().SequenceEqual(hash.AsSpan(0, written)), $"{algorithm}, {keyLength}-byte key, {length}-byte data");
            }
        }
    }

    [Theory]
    [MemberData(nameof(DigestAlgorithms))]
    public void WireDigestIsTheOneShotHashTruncatedToTheDigestLength(MacAlgorithm algorithm)
    {
        byte[] secret = RandomNumberGenerator.GetBytes(20);
        using var key = new SymmetricKey(3, algorithm, secret, "test");
        foreach (int length in DataLengths)
        {
            byte[] data = RandomNumberGenerator.GetBytes(length);
            byte[] digest = new byte[key.DigestLength];
            Assert.Equal(key.DigestLength, key.ComputeDigest(data, digest));
            Assert.Equal(Reference(algorithm, secret, data)[..key.DigestLength], digest);
            Assert.True(key.VerifyDigest(data, digest));
        }
    }

    [Fact]
    public void ContextReusedByAnotherKeyCarriesNothingOver()
    {
        // One context per thread serves every key: after each digest it must be back at the initial state, or the
        // previous secret would leak into the next MAC.
        byte[] data = RandomNumberGenerator.GetBytes(48);
        foreach (MacAlgorithm algorithm in Digests)
        {
            byte[] a = RandomNumberGenerator.GetBytes(20);
            byte[] b = RandomNumberGenerator.GetBytes(7);
            byte[] hash = new byte[KeyedDigest.MaxHashLength];
            foreach (byte[] secret in new[] { a, b, a, [], b })
            {
                int written = KeyedDigest.Compute(algorithm, secret, data, hash);
                Assert.Equal(Reference(algorithm, secret, data), hash[..written]);
            }

            int empty = KeyedDigest.Compute(algorithm, [], [], hash);
            Assert.Equal(Reference(algorithm, [], []), hash[..empty]);
        }
    }

    [Fact]
    public void ShortHashBufferIsMisuseAndLeavesTheContextUsable()
    {
        byte[] secret = RandomNumberGenerator.GetBytes(20);
        Assert.Throws<ArgumentException>(() => KeyedDigest.Compute(MacAlgorithm.Sha1, secret, new byte[48], new byte[20]));
        byte[] hash = new byte[KeyedDigest.MaxHashLength];
        Assert.Equal(20, KeyedDigest.Compute(MacAlgorithm.Sha1, secret, new byte[48], hash));
        Assert.Equal(Reference(MacAlgorithm.Sha1, secret, new byte[48]), hash[..20]);
    }

    [Fact]
    public void CmacIsNotAKeyedDigest()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyedDigest.Compute(MacAlgorithm.Aes128Cmac, new byte[16], [], new byte[64]));
    }

    [Theory]
    [MemberData(nameof(DigestAlgorithms))]
    public void ConcurrentWorkersSharingKeysGetTheReferenceMacs(MacAlgorithm algorithm)
    {
        // Server workers call one SymmetricKey from several threads at once; each thread has its own context.
        byte[][] secrets = Enumerable.Range(1, 3).Select(i => RandomNumberGenerator.GetBytes(10 * i)).ToArray();
        SymmetricKey[] keys = secrets.Select((s, i) => new SymmetricKey((uint)i + 1, algorithm, s, "test")).ToArray();
        try
        {
            byte[][] packets = Enumerable.Range(0, 16).Select(i => RandomNumberGenerator.GetBytes(48 + (i * 13))).ToArray();
            byte[][][] expected = secrets.Select(s => packets.Select(p => Reference(algorithm, s, p)[..keys[0].DigestLength]).ToArray()).ToArray();
            int failures = 0;
            var threads = Enumerable.Range(0, 6).Select(t => new Thread(() =>
            {
                byte[] digest = new byte[20];
                for (int i = 0; i < 3000; i++)
                {
                    int k = (i + t) % keys.Length;
                    int p = (i * 7 + t) % packets.Length;
                    int length = keys[k].ComputeDigest(packets[p], digest);
                    if (!digest.AsSpan(0, length).SequenceEqual(expected[k][p]) || !keys[k].VerifyDigest(packets[p], expected[k][p]))
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            })).ToArray();
            foreach (Thread thread in threads)
            {
                thread.Start();
            }

            foreach (Thread thread in threads)
            {
                Assert.True(thread.Join(TimeSpan.FromMinutes(2)), "a worker did not finish its 3000 digests");
            }

            Assert.Equal(0, failures);
        }
        finally
        {
            foreach (SymmetricKey key in keys)
            {
                key.Dispose();
            }
        }
    }

    [Theory]
    [MemberData(nameof(DigestAlgorithms))]
    public void ComputeAllocatesNothingOnceTheThreadHasItsContext(MacAlgorithm algorithm)
    {
        byte[] secret = RandomNumberGenerator.GetBytes(20);
        byte[] packet = new byte[68];
        byte[] hash = new byte[KeyedDigest.MaxHashLength];
        for (int i = 0; i < 100; i++)
        {
            KeyedDigest.Compute(algorithm, secret, packet, hash);
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    KeyedDigest.Compute(algorithm, secret, packet, hash);
                }
            },
            $"1000 {algorithm} digests");
    }

    private static byte[] Reference(MacAlgorithm algorithm, byte[] secret, byte[] data)
    {
        byte[] concat = [.. secret, .. data];
#pragma warning disable CA5350, CA5351 // The algorithms under test.
        return algorithm switch
        {
            MacAlgorithm.Md5 => MD5.HashData(concat),
            MacAlgorithm.Sha1 => SHA1.HashData(concat),
            MacAlgorithm.Sha256 => SHA256.HashData(concat),
            MacAlgorithm.Sha384 => SHA384.HashData(concat),
            _ => SHA512.HashData(concat),
        };
#pragma warning restore CA5350, CA5351
    }
}
