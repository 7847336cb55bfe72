using System.Security.Cryptography;
using System.Text.Json;
using Tempus.Crypto;
using Tempus.Testing;
using Tempus.Tests.TestData;

namespace Tempus.Tests.Crypto;

public sealed class AesCmacTests
{
    private const string VectorFile = "rfc4493_rfc5297_vectors.json";

    // RFC 4493 §4: subkey generation for K = 2b7e1516 28aed2a6 abf71588 09cf4f3c.
    // Each on both AES paths: AES-NI (true) and OpenSSL EVP (false).
    public static TheoryData<string, string, bool> Rfc4493Subkeys()
    {
        using JsonDocument doc = ReferenceVectors.Load(VectorFile);
        JsonElement subkeys = doc.RootElement.GetProperty("rfc4493").GetProperty("subkeys");
        var data = new TheoryData<string, string, bool>();
        foreach (bool intrinsics in new[] { true, false })
        {
            data.Add("RFC 4493 §4 AES-128(key,0)", subkeys.GetProperty("AES-128(key,0)").GetString()!, intrinsics);
            data.Add("RFC 4493 §4 K1", subkeys.GetProperty("K1").GetString()!, intrinsics);
            data.Add("RFC 4493 §4 K2", subkeys.GetProperty("K2").GetString()!, intrinsics);
        }

        return data;
    }

    // RFC 4493 §4: examples 1-4 (len 0, 16, 40, 64).
    public static TheoryData<string, string, string, bool> Rfc4493Examples()
    {
        using JsonDocument doc = ReferenceVectors.Load(VectorFile);
        var data = new TheoryData<string, string, string, bool>();
        foreach (JsonElement example in doc.RootElement.GetProperty("rfc4493").GetProperty("examples").EnumerateArray())
        {
            foreach (bool intrinsics in new[] { true, false })
            {
                data.Add($"RFC 4493 §4 {example.GetProperty("name").GetString()}", example.GetProperty("message").GetString()!, example.GetProperty("tag").GetString()!, intrinsics);
            }
        }

        return data;
    }

    private static byte[] Rfc4493Key()
    {
        using JsonDocument doc = ReferenceVectors.Load(VectorFile);
        return Convert.FromHexString(doc.RootElement.GetProperty("rfc4493").GetProperty("key").GetString()!);
    }

    [Theory]
    [MemberData(nameof(Rfc4493Subkeys))]
    public void SubkeysMatchRfc4493(string section, string expectedHex, bool intrinsics)
    {
        using AesCmac cmac = Create(Rfc4493Key(), intrinsics);
        Span<byte> l = stackalloc byte[16];
        Span<byte> k1 = stackalloc byte[16];
        Span<byte> k2 = stackalloc byte[16];
        cmac.EncryptBlock(new byte[16], l);
        cmac.GetSubkeys(k1, k2);
        byte[] actual = section.EndsWith("K1") ? k1.ToArray() : section.EndsWith("K2") ? k2.ToArray() : l.ToArray();
        Assert.Equal(expectedHex, Convert.ToHexStringLower(actual));
    }

    [Theory]
    [MemberData(nameof(Rfc4493Examples))]
    public void TagMatchesRfc4493Example(string section, string messageHex, string tagHex, bool intrinsics)
    {
        _ = section;
        using AesCmac cmac = Create(Rfc4493Key(), intrinsics);
        byte[] tag = new byte[16];
        cmac.Compute(Convert.FromHexString(messageHex), tag);
        Assert.Equal(tagHex, Convert.ToHexStringLower(tag));
        Assert.True(cmac.Verify(Convert.FromHexString(messageHex), Convert.FromHexString(tagHex)));
    }

    // NIST SP 800-38B appendix D.3 (CMAC-AES256), examples 9-12.
    public static TheoryData<string, string, string, bool> Sp80038bAes256Examples()
    {
        var data = new TheoryData<string, string, string, bool>();
        foreach (bool intrinsics in new[] { true, false })
        {
            data.Add("SP 800-38B D.3 Example 9: Mlen = 0", "", "028962f61b7bf89efc6b551f4667d983", intrinsics);
            data.Add("SP 800-38B D.3 Example 10: Mlen = 128", "6bc1bee22e409f96e93d7e117393172a", "28a7023f452e8f82bd4bf28d8c37c35c", intrinsics);
            data.Add("SP 800-38B D.3 Example 11: Mlen = 320", "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411", "aaf3d8f1de5640c232f5b169b9c911e6", intrinsics);
            data.Add("SP 800-38B D.3 Example 12: Mlen = 512", "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", "e1992190549f6ed5696a2c056c315410", intrinsics);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Sp80038bAes256Examples))]
    public void Aes256TagMatchesSp80038bExample(string section, string messageHex, string tagHex, bool intrinsics)
    {
        _ = section;
        using AesCmac cmac = Create(Convert.FromHexString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"), intrinsics);
        byte[] tag = new byte[16];
        cmac.Compute(Convert.FromHexString(messageHex), tag);
        Assert.Equal(tagHex, Convert.ToHexStringLower(tag));
        Assert.Equal(32, cmac.KeySize);
    }

    [Theory]
    [InlineData(16, true)]
    [InlineData(16, false)]
    [InlineData(32, true)]
    [InlineData(32, false)]
    public void EveryLengthUpToThreeChunksMatchesAnIndependentImplementation(int keyLength, bool intrinsics)
    {
        byte[] key = RandomNumberGenerator.GetBytes(keyLength);
        byte[] message = RandomNumberGenerator.GetBytes(1600);
        using AesCmac cmac = Create(key, intrinsics);
        byte[] tag = new byte[16];
        for (int length = 0; length <= message.Length; length++)
        {
            cmac.Compute(message.AsSpan(0, length), tag);
            Assert.Equal(ReferenceCmac(key, message.AsSpan(0, length)), tag);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TagsAgreeWithOpenSslCommandLine(bool intrinsics)
    {
        // An independent implementation: OpenSSL's CMAC (EVP_MAC), not the CBC chain AesCmac builds.
        foreach (int keyLength in new[] { 16, 32 })
        {
            byte[] key = RandomNumberGenerator.GetBytes(keyLength);
            using AesCmac cmac = Create(key, intrinsics);
            foreach (int length in new[] { 0, 1, 15, 16, 17, 48, 68, 511, 512, 513, 1040 })
            {
                byte[] message = RandomNumberGenerator.GetBytes(length);
                byte[] tag = new byte[16];
                cmac.Compute(message, tag);
                string cipher = keyLength == 16 ? "AES-128-CBC" : "AES-256-CBC";
                Assert.Equal(OpenSslCmac(cipher, key, message), Convert.ToHexStringLower(tag));
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void VerifyRejectsEverySingleBitFlipAndWrongLengths(bool intrinsics)
    {
        using AesCmac cmac = Create(Rfc4493Key(), intrinsics);
        byte[] message = RandomNumberGenerator.GetBytes(48);
        byte[] tag = new byte[16];
        cmac.Compute(message, tag);
        Assert.True(cmac.Verify(message, tag));
        for (int bit = 0; bit < 128; bit++)
        {
            byte[] flipped = (byte[])tag.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(cmac.Verify(message, flipped));
        }

        for (int bit = 0; bit < message.Length * 8; bit++)
        {
            byte[] altered = (byte[])message.Clone();
            altered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(cmac.Verify(altered, tag));
        }

        Assert.False(cmac.Verify(message, tag.AsSpan(0, 15)));
        Assert.False(cmac.Verify(message, [.. tag, 0]));
        Assert.False(cmac.Verify(message, []));
    }

    // Three measured rounds (AllocationAssert): a per-call allocation shows in each, tiered JIT's one-off work in one only.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ComputeAndVerifyAllocateNothing(bool intrinsics)
    {
        using AesCmac cmac = Create(Rfc4493Key(), intrinsics);
        byte[] small = new byte[48];
        byte[] large = new byte[2000];
        byte[] tag = new byte[16];
        for (int i = 0; i < 100; i++)
        {
            cmac.Compute(small, tag);
            cmac.Compute(large, tag);
            cmac.Verify(small, tag);
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    cmac.Compute(small, tag);
                    cmac.Compute(large, tag);
                    cmac.Verify(small, tag);
                }
            },
            "1000 MACs computed twice and verified");
    }

    // The AES-NI path against the OpenSSL path on random keys and messages of 0..600 bytes.
    [Fact]
    public void AesNiPathMatchesOpenSslPathOnRandomInputs()
    {
        var random = new Random(4493);
        for (int round = 0; round < 300; round++)
        {
            byte[] key = AesSivTests.RandomBytes(random, round % 2 == 0 ? 16 : 32);
            using AesCmac managed = Create(key, intrinsics: true);
            using AesCmac openSsl = Create(key, intrinsics: false);
            Assert.True(managed.UsesIntrinsics);
            byte[] message = AesSivTests.RandomBytes(random, random.Next(0, 601));
            byte[] expected = new byte[16];
            byte[] actual = new byte[16];
            openSsl.Compute(message, expected);
            managed.Compute(message, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"round {round}: key {key.Length} bytes, message {message.Length} bytes");
            Assert.True(managed.Verify(message, expected));
            if (message.Length > 0)
            {
                message[random.Next(message.Length)] ^= (byte)(1 << random.Next(8));
                Assert.False(managed.Verify(message, expected));
                Assert.False(openSsl.Verify(message, expected));
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ConcurrentCallersGetCorrectTags(bool intrinsics)
    {
        byte[] key = RandomNumberGenerator.GetBytes(16);
        using AesCmac cmac = Create(key, intrinsics);
        byte[][] messages = Enumerable.Range(0, 64).Select(i => RandomNumberGenerator.GetBytes(i * 13)).ToArray();
        byte[][] expected = messages.Select(m => ReferenceCmac(key, m)).ToArray();
        Parallel.For(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            byte[] tag = new byte[16];
            cmac.Compute(messages[i % messages.Length], tag);
            Assert.Equal(expected[i % messages.Length], tag);
        });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(24)]
    [InlineData(33)]
    public void KeysOtherThan128Or256BitsAreRefused(int length)
    {
        var e = Assert.Throws<ArgumentException>(() => new AesCmac(new byte[length]));
        Assert.Contains($"got {length * 8} bits", e.Message);
    }

    [Fact]
    public void ShortTagBufferIsMisuse()
    {
        using var cmac = new AesCmac(Rfc4493Key());
        Assert.Throws<ArgumentException>(() => cmac.Compute([], new byte[15]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UseAfterDisposeThrows(bool intrinsics)
    {
        AesCmac cmac = Create(Rfc4493Key(), intrinsics);
        cmac.Dispose();
        cmac.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cmac.Compute([], new byte[16]));
        Assert.Throws<ObjectDisposedException>(() => cmac.Verify([], new byte[16]));
    }

    [Fact]
    public void PublicConstructorUsesAesNiWhenTheCpuHasIt()
    {
        using var cmac = new AesCmac(Rfc4493Key());
        Assert.Equal(AesNi.IsSupported, cmac.UsesIntrinsics);
    }

    internal static AesCmac Create(byte[] key, bool intrinsics)
    {
        var cmac = new AesCmac(key, intrinsics);
        Assert.Equal(intrinsics && AesNi.IsSupported, cmac.UsesIntrinsics);
        return cmac;
    }

    /// <summary>RFC 4493 §2.4 written out with .NET's AES one block at a time, as a reference.</summary>
    internal static byte[] ReferenceCmac(byte[] key, ReadOnlySpan<byte> message)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        byte[] l = aes.EncryptEcb(new byte[16], PaddingMode.None);
        byte[] k1 = Double(l);
        byte[] k2 = Double(k1);
        int n = Math.Max(1, (message.Length + 15) / 16);
        bool complete = message.Length > 0 && message.Length % 16 == 0;
        byte[] x = new byte[16];
        for (int i = 0; i < n; i++)
        {
            byte[] block = new byte[16];
            int start = i * 16;
            int count = Math.Min(16, message.Length - start);
            message.Slice(start, Math.Max(0, count)).CopyTo(block);
            if (i == n - 1)
            {
                if (!complete)
                {
                    block[Math.Max(0, count)] = 0x80;
                }

                byte[] k = complete ? k1 : k2;
                for (int j = 0; j < 16; j++)
                {
                    block[j] ^= k[j];
                }
            }

            for (int j = 0; j < 16; j++)
            {
                x[j] ^= block[j];
            }

            x = aes.EncryptEcb(x, PaddingMode.None);
        }

        return x;

        static byte[] Double(byte[] v)
        {
            byte[] r = new byte[16];
            for (int i = 0; i < 15; i++)
            {
                r[i] = (byte)((v[i] << 1) | (v[i + 1] >> 7));
            }

            r[15] = (byte)((v[15] << 1) ^ ((v[0] & 0x80) != 0 ? 0x87 : 0));
            return r;
        }
    }

    private static string OpenSslCmac(string cipher, byte[] key, byte[] message)
    {
        var start = new System.Diagnostics.ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[] { "mac", "-cipher", cipher, "-macopt", $"hexkey:{Convert.ToHexStringLower(key)}", "CMAC" })
        {
            start.ArgumentList.Add(arg);
        }

        System.Diagnostics.Process process;
        try
        {
            process = System.Diagnostics.Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("the openssl command is needed for this test: apt-get install openssl", e);
        }

        using (process)
        {
            process.StandardInput.BaseStream.Write(message);
            process.StandardInput.Close();
            string output = process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"openssl mac failed: {error}");
            return output.Trim().ToLowerInvariant();
        }
    }
}
