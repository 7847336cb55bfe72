using System.Text.RegularExpressions;
using Tempus.Crypto;
using Tempus.Protocol;
using Tempus.Tests.TestData;

namespace Tempus.Tests.Crypto;

public sealed partial class AesGcmSivTests
{
    // chrony test/unit/siv.c: the 7 AEAD_AES_128_GCM_SIV vectors (ciphertext || tag).
    public static TheoryData<int, bool> ChronyAead30Vectors()
    {
        var data = new TheoryData<int, bool>();
        foreach (int index in AesSivTests.VectorIndexes(30))
        {
            data.Add(index, true);
            data.Add(index, false);
        }

        return data;
    }

    // RFC 8452 appendix C: C.1 (AEAD_AES_128_GCM_SIV), C.2 (AEAD_AES_256_GCM_SIV) and C.3 (counter wrap,
    // AES-256), read from the RFC text; each with the PCLMULQDQ and the software POLYVAL.
    public static TheoryData<string, bool> Rfc8452Vectors()
    {
        var data = new TheoryData<string, bool>();
        foreach (Rfc8452Vector vector in ReadRfc8452Vectors())
        {
            data.Add(vector.Name, true);
            data.Add(vector.Name, false);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ChronyAead30Vectors))]
    public void SealMatchesChronyVector(int index, bool hardwarePolyval)
    {
        (byte[] key, byte[] nonce, byte[] ad, byte[] plaintext, byte[] expected) = AesSivTests.ChronyVector(index);

        // Both AES paths: AES-NI and OpenSSL EVP ECB.
        foreach (bool intrinsics in new[] { true, false })
        {
            using var aead = new AesGcmSiv(key, hardwarePolyval, intrinsics);
            Assert.Equal(intrinsics && AesNi.IsSupported, aead.UsesIntrinsics);
            AssertSealsAndOpens(aead, nonce, ad, plaintext, expected);
        }
    }

    [Theory]
    [MemberData(nameof(ChronyAead30Vectors))]
    public void FactoryInstanceMatchesChronyVector(int index, bool unused)
    {
        _ = unused;
        (byte[] key, byte[] nonce, byte[] ad, byte[] plaintext, byte[] expected) = AesSivTests.ChronyVector(index);
        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.Aes128GcmSiv, key);
        AssertSealsAndOpens(aead, nonce, ad, plaintext, expected);
    }

    [Theory]
    [MemberData(nameof(Rfc8452Vectors))]
    public void SealMatchesRfc8452Vector(string name, bool hardwarePolyval)
    {
        Rfc8452Vector vector = ReadRfc8452Vectors().Single(v => v.Name == name);

        // Both AES paths: AES-NI and OpenSSL EVP ECB.
        foreach (bool intrinsics in new[] { true, false })
        {
            using var aead = new AesGcmSiv(vector.Key, hardwarePolyval, intrinsics);
            Assert.Equal(intrinsics && AesNi.IsSupported, aead.UsesIntrinsics);
            AssertSealsAndOpens(aead, vector.Nonce, vector.AssociatedData, vector.Plaintext, vector.Result);
        }
    }

    // The AES-NI path against the OpenSSL path on random keys (both sizes), nonces and lengths 0..600,
    // re-keyed with SetKey on the way, then tampered.
    [Fact]
    public void AesNiPathMatchesOpenSslPathOnRandomInputs()
    {
        var random = new Random(8452);
        for (int round = 0; round < 200; round++)
        {
            byte[] key = AesSivTests.RandomBytes(random, round % 2 == 0 ? 16 : 32);
            using var managed = new AesGcmSiv(AesSivTests.RandomBytes(random, key.Length), useIntrinsics: true);
            using var openSsl = new AesGcmSiv(key, useIntrinsics: false);
            Assert.True(managed.UsesIntrinsics);
            managed.SetKey(key);
            byte[] nonce = AesSivTests.RandomBytes(random, 12);
            byte[] ad = AesSivTests.RandomBytes(random, random.Next(0, 601));
            byte[] plaintext = AesSivTests.RandomBytes(random, random.Next(0, 601));
            byte[] expected = new byte[plaintext.Length + 16];
            byte[] actual = new byte[plaintext.Length + 16];
            openSsl.Seal(nonce, ad, plaintext, expected);
            managed.Seal(nonce, ad, plaintext, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"round {round}: key {key.Length}, ad {ad.Length}, plaintext {plaintext.Length}");
            byte[] opened = new byte[plaintext.Length];
            Assert.True(managed.TryOpen(nonce, ad, expected, opened));
            Assert.Equal(plaintext, opened);
            expected[random.Next(expected.Length)] ^= (byte)(1 << random.Next(8));
            Assert.False(managed.TryOpen(nonce, ad, expected, opened));
            Assert.False(openSsl.TryOpen(nonce, ad, expected, opened));
        }
    }

    [Fact]
    public void Rfc8452VectorsWereAllRead()
    {
        List<Rfc8452Vector> vectors = ReadRfc8452Vectors();
        Assert.Equal(48, vectors.Count(v => v.Name.StartsWith("C.1", StringComparison.Ordinal) || v.Name.StartsWith("C.2", StringComparison.Ordinal)));
        Assert.Equal(2, vectors.Count(v => v.Name.StartsWith("C.3", StringComparison.Ordinal)));
    }

    // RFC 8452 appendix A: POLYVAL(H, X_1, X_2) = f7a3b47b846119fae5b7866cf5e5b77e.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PolyvalMatchesRfc8452AppendixA(bool hardware)
    {
        byte[] h = Convert.FromHexString("25629347589242761d31f826ba4b757b");
        byte[] x = Convert.FromHexString("4f4f95668c83dfb6401762bb2d01a262d1a24ddd2721d006bbe45f20d3c9f362");
        byte[] result = new byte[16];
        Polyval.Hash(h, x, result, hardware);
        Assert.Equal("f7a3b47b846119fae5b7866cf5e5b77e", Convert.ToHexStringLower(result));
    }

    [Fact]
    public void HardwareAndSoftwarePolyvalAgree()
    {
        Assert.True(Polyval.IsHardwareAccelerated, "this test machine is expected to have PCLMULQDQ; without it only the software path is tested");
        var random = new Random(8452);
        byte[] hardware = new byte[16];
        byte[] software = new byte[16];
        for (int i = 0; i < 500; i++)
        {
            byte[] h = AesSivTests.RandomBytes(random, 16);
            byte[] ad = AesSivTests.RandomBytes(random, random.Next(0, 301));
            byte[] plaintext = AesSivTests.RandomBytes(random, random.Next(0, 301));
            Polyval.HashGcmSiv(h, ad, plaintext, hardware, useHardware: true);
            Polyval.HashGcmSiv(h, ad, plaintext, software, useHardware: false);
            Assert.Equal(Convert.ToHexStringLower(software), Convert.ToHexStringLower(hardware));
        }

        // All-ones operands carry the most terms through the software multiply.
        byte[] ones = Enumerable.Repeat((byte)0xff, 64).ToArray();
        Polyval.Hash(ones.AsSpan(0, 16), ones, hardware, useHardware: true);
        Polyval.Hash(ones.AsSpan(0, 16), ones, software, useHardware: false);
        Assert.Equal(Convert.ToHexStringLower(software), Convert.ToHexStringLower(hardware));
    }

    [Fact]
    public void OpenSsl30HasNoGcmSivSoTheManagedImplementationRuns()
    {
        // Debian 12 ships OpenSSL 3.0, which has AES-SIV but not AES-GCM-SIV (added in 3.2).
        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.Aes128GcmSiv, new byte[16]);
        if (Interop.Crypto.OpenSslVersion < 0x30200000)
        {
            Assert.False(OpenSslAead.IsAes128GcmSivUsable);
            Assert.Contains("has no AES-128-GCM-SIV", OpenSslAead.Aes128GcmSivUnusableReason, StringComparison.Ordinal);
            AesGcmSiv managed = Assert.IsType<AesGcmSiv>(aead);
            Assert.Equal(Polyval.IsHardwareAccelerated, managed.UsesHardwarePolyval);
        }
        else
        {
            Assert.Equal(OpenSslAead.IsAes128GcmSivUsable, aead is OpenSslAead);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AnyFlippedBitFailsAuthenticationAndClearsThePlaintext(bool hardwarePolyval)
    {
        var random = new Random(30);
        using var aead = new AesGcmSiv(AesSivTests.RandomBytes(random, 16), hardwarePolyval);
        AeadAssertions.AnyFlippedBitFails(aead, random);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RandomLengthsRoundTripOnOneInstance(bool hardwarePolyval)
    {
        var random = new Random(hardwarePolyval ? 1 : 2);
        using var aead = new AesGcmSiv(AesSivTests.RandomBytes(random, 16), hardwarePolyval);
        AeadAssertions.RoundTrips(aead, random, minNonce: 12, maxNonce: 12);
    }

    [Fact]
    public void ANonceOtherThan12BytesIsMisuseWhenSealingAndAFailureWhenOpening()
    {
        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.Aes128GcmSiv, new byte[16]);
        Assert.Equal(12, aead.NonceLength);
        Assert.Throws<ArgumentException>("nonce", () => aead.Seal(new byte[16], [], [], new byte[16]));
        byte[] sealedMessage = new byte[16];
        aead.Seal(new byte[12], [], [], sealedMessage);
        Assert.False(aead.TryOpen(new byte[16], [], sealedMessage, []));
        Assert.True(aead.TryOpen(new byte[12], [], sealedMessage, []));
    }

    // Messages longer than one 512-byte CTR run and one 64-byte POLYVAL stride, and ragged at both.
    // Self-generated with pyca/cryptography 48 (AESGCMSIV over its bundled OpenSSL): key 00..0f, nonce
    // 00..0b, AD byte i = 7i+1, plaintext byte i = 13i+5 (mod 256); the SHA-256 of ciphertext || tag.
    [Theory]
    [InlineData(0, 513, "208acb065654e9dbd327072eddaf255d4e0a63712e6196835b40f8a50330e21e", true)]
    [InlineData(1537, 511, "5d93faa7776eb2445a146898f204b3a8498d70156b6fdf9d530418be2d43025a", true)]
    [InlineData(64, 4096, "6573721a5097ae22f1137a6172d9944c36fcab2ec22c868e449df26db267cb8f", true)]
    [InlineData(3000, 1000, "a8165aa89f6a286027eeb655b9377c529dcfcb8a05288d8b06f98089d1edf715", true)]
    [InlineData(17, 1535, "11a7e1b926fba261f2af3334074b625252d273dd286c12e7ba33f66a98ce0a24", true)]
    [InlineData(200, 100, "190e861c258b3087b06f13c9ea6bacca4e61aa26391046701ac5e63863aba2cc", true)]
    [InlineData(3000, 1000, "a8165aa89f6a286027eeb655b9377c529dcfcb8a05288d8b06f98089d1edf715", false)]
    [InlineData(17, 1535, "11a7e1b926fba261f2af3334074b625252d273dd286c12e7ba33f66a98ce0a24", false)]
    public void LongMessagesMatchPycaCryptography(int adLength, int plaintextLength, string sha256, bool hardwarePolyval)
    {
        byte[] ad = Pattern(adLength, 7, 1);
        byte[] plaintext = Pattern(plaintextLength, 13, 5);
        using var aead = new AesGcmSiv(Pattern(16, 1, 0), hardwarePolyval);
        byte[] output = new byte[plaintextLength + 16];
        aead.Seal(Pattern(12, 1, 0), ad, plaintext, output);
        Assert.Equal(sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(output)));
        byte[] opened = new byte[plaintextLength];
        Assert.True(aead.TryOpen(Pattern(12, 1, 0), ad, output, opened));
        Assert.Equal(plaintext, opened);
    }

    internal static byte[] Pattern(int length, int multiplier, int offset)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * multiplier) + offset);
        }

        return bytes;
    }

    private static void AssertSealsAndOpens(NtsAead aead, byte[] nonce, byte[] ad, byte[] plaintext, byte[] expected)
    {
        byte[] output = new byte[plaintext.Length + 16];
        aead.Seal(nonce, ad, plaintext, output);
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(output));

        byte[] opened = new byte[plaintext.Length];
        Assert.True(aead.TryOpen(nonce, ad, expected, opened));
        Assert.Equal(plaintext, opened);
    }

    private static List<Rfc8452Vector> ReadRfc8452Vectors()
    {
        string path = Path.GetFullPath(Path.Combine(ReferenceVectors.VectorsDirectory, "..", "rfc", "rfc8452.txt"));
        string[] lines = File.ReadAllLines(path);
        var vectors = new List<Rfc8452Vector>();
        Dictionary<string, string>? fields = null;
        string? section = null;
        string? current = null;
        int count = 0;

        void Flush()
        {
            if (fields is not null && section is not null)
            {
                vectors.Add(new Rfc8452Vector(
                    $"{section} #{++count} ({fields["Plaintext"].Length / 2}-byte plaintext, {fields["AAD"].Length / 2}-byte AAD)",
                    Convert.FromHexString(fields["Key"]),
                    Convert.FromHexString(fields["Nonce"]),
                    Convert.FromHexString(fields["AAD"]),
                    Convert.FromHexString(fields["Plaintext"]),
                    Convert.FromHexString(fields["Result"])));
            }

            fields = null;
        }

        foreach (string line in lines)
        {
            Match heading = SectionHeading().Match(line);
            if (heading.Success)
            {
                Flush();
                section = heading.Groups[1].Value;
                count = 0;
                continue;
            }

            if (section is null)
            {
                continue;
            }

            if (line.StartsWith("Authors' Addresses", StringComparison.Ordinal) || line.StartsWith("Acknowledgements", StringComparison.Ordinal))
            {
                Flush();
                break;
            }

            Match field = FieldLine().Match(line);
            if (field.Success)
            {
                current = field.Groups[1].Value;
                if (current == "Plaintext")
                {
                    Flush();
                    fields = [];
                }

                if (fields is not null)
                {
                    fields[current] = field.Groups[2].Value;
                }

                continue;
            }

            // Values longer than 16 bytes continue on indented lines, across page breaks.
            Match continuation = ContinuationLine().Match(line);
            if (continuation.Success && fields is not null && current is not null)
            {
                fields[current] += continuation.Groups[1].Value;
            }
        }

        Flush();
        return vectors;
    }

    [GeneratedRegex(@"^(C\.[123])\.  ")]
    private static partial Regex SectionHeading();

    [GeneratedRegex(@"^   ([A-Za-z .]+?)(?: \(\d+ bytes\))? =\s*([0-9a-f]*)\s*$")]
    private static partial Regex FieldLine();

    [GeneratedRegex(@"^\s{20,}([0-9a-f]+)\s*$")]
    private static partial Regex ContinuationLine();

    private sealed record Rfc8452Vector(string Name, byte[] Key, byte[] Nonce, byte[] AssociatedData, byte[] Plaintext, byte[] Result);
}
