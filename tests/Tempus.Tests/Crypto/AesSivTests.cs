using System.Text.Json;
using Tempus.Crypto;
using Tempus.Protocol;
using Tempus.Testing;
using Tempus.Tests.TestData;

namespace Tempus.Tests.Crypto;

public sealed class AesSivTests
{
    private const string RfcVectorFile = "rfc4493_rfc5297_vectors.json";
    private const string ChronyVectorFile = "chrony_siv_unit_vectors.json";
    private const string NtpdRsPacketFile = "ntpd-rs_captured_nts_packets.json";
    private const string SelfGeneratedFile = "nts_aead15_selfgenerated_example.json";

    public static TheoryData<NtsAeadAlgorithm> SivAlgorithms() =>
        new(NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.AesSivCmac384, NtsAeadAlgorithm.AesSivCmac512);

    // Every vector and property test runs on both AES paths: AES-NI (true) and OpenSSL EVP (false).
    public static TheoryData<NtsAeadAlgorithm, bool> SivAlgorithmsOnBothPaths()
    {
        var data = new TheoryData<NtsAeadAlgorithm, bool>();
        foreach (NtsAeadAlgorithm algorithm in new[] { NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.AesSivCmac384, NtsAeadAlgorithm.AesSivCmac512 })
        {
            data.Add(algorithm, true);
            data.Add(algorithm, false);
        }

        return data;
    }

    // RFC 4493 §4, examples 1-4: the CMAC inside S2V, keyed with K1 (the first half of an AEAD 15 key).
    public static TheoryData<string, string, string, bool> Rfc4493Examples()
    {
        using JsonDocument doc = ReferenceVectors.Load(RfcVectorFile);
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

    // RFC 5297 appendix A.1 (deterministic, one AD component) and A.2 (nonce-based: AD1, AD2, nonce).
    public static TheoryData<string, bool> Rfc5297Examples()
    {
        using JsonDocument doc = ReferenceVectors.Load(RfcVectorFile);
        var data = new TheoryData<string, bool>();
        foreach (JsonProperty example in doc.RootElement.GetProperty("rfc5297").EnumerateObject())
        {
            data.Add(example.Name, true);
            data.Add(example.Name, false);
        }

        return data;
    }

    // chrony test/unit/siv.c: the 7 AEAD_AES_SIV_CMAC_256 vectors, in the NTS calling convention
    // (RFC 8915 §5.6: S2V over associated data, nonce, plaintext; output SIV || ciphertext).
    public static TheoryData<int, bool> ChronyAead15Vectors()
    {
        var data = new TheoryData<int, bool>();
        foreach (int index in VectorIndexes(15))
        {
            data.Add(index, true);
            data.Add(index, false);
        }

        return data;
    }

    // ntpd-rs ntp-proto packet tests: a real client request and server response with AEAD 17 keys.
    public static TheoryData<string, bool> NtpdRsPackets() => new()
    {
        { "test_nts_captured_client", true },
        { "test_nts_captured_client", false },
        { "test_nts_captured_server", true },
        { "test_nts_captured_server", false },
    };

    [Theory]
    [MemberData(nameof(Rfc4493Examples))]
    public void CmacCoreMatchesRfc4493Example(string section, string messageHex, string tagHex, bool intrinsics)
    {
        _ = section;
        byte[] key = new byte[32];
        Convert.FromHexString(Rfc4493Key()).CopyTo(key, 0);
        using var siv = Create(NtsAeadAlgorithm.AesSivCmac256, key, intrinsics);
        byte[] tag = new byte[16];

        // Twice: the second CMAC starts from the CBC context's chaining value, not from a reset IV.
        siv.ComputeCmac(Convert.FromHexString(messageHex), tag);
        siv.ComputeCmac(Convert.FromHexString(messageHex), tag);
        Assert.Equal(tagHex, Convert.ToHexStringLower(tag));
    }

    [Theory]
    [MemberData(nameof(Rfc5297Examples))]
    public void SealAndOpenMatchRfc5297Example(string name, bool intrinsics)
    {
        using JsonDocument doc = ReferenceVectors.Load(RfcVectorFile);
        JsonElement example = doc.RootElement.GetProperty("rfc5297").GetProperty(name);
        byte[] key = Hex(example, "key");
        ReadOnlyMemory<byte>[] components = example.GetProperty("ad_components").EnumerateArray().Select(c => (ReadOnlyMemory<byte>)Convert.FromHexString(c.GetString()!)).ToArray();
        byte[] plaintext = Hex(example, "plaintext");
        byte[] expected = Hex(example, "output_iv_concat_ciphertext");

        using var siv = Create(NtsAeadAlgorithm.AesSivCmac256, key, intrinsics);
        byte[] output = new byte[plaintext.Length + 16];
        siv.SealVector(components, plaintext, output);
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(output));

        byte[] opened = new byte[plaintext.Length];
        Assert.True(siv.TryOpenVector(components, expected, opened));
        Assert.Equal(plaintext, opened);

        // Dropping the last component (the nonce in A.2) must break authentication.
        Assert.False(siv.TryOpenVector(components.AsSpan(0, components.Length - 1), expected, opened));
        Assert.All(opened, b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(ChronyAead15Vectors))]
    public void SealMatchesChronyVector(int index, bool intrinsics)
    {
        (byte[] key, byte[] nonce, byte[] ad, byte[] plaintext, byte[] expected) = ChronyVector(index);
        using NtsAead aead = Create(NtsAeadAlgorithm.AesSivCmac256, key, intrinsics);
        byte[] output = new byte[plaintext.Length + 16];
        aead.Seal(nonce, ad, plaintext, output);
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(output));

        byte[] opened = new byte[plaintext.Length];
        Assert.True(aead.TryOpen(nonce, ad, expected, opened));
        Assert.Equal(plaintext, opened);
    }

    [Theory]
    [MemberData(nameof(NtpdRsPackets))]
    public void RealNtpdRsPacketOpensWithItsAead17Key(string name, bool intrinsics)
    {
        using JsonDocument doc = ReferenceVectors.Load(NtpdRsPacketFile);
        JsonElement capture = doc.RootElement.GetProperty(name);
        byte[] packet = Convert.FromHexString(capture.GetProperty("packet_hex").GetString()!);
        byte[] key = Convert.FromHexString(capture.GetProperty("key_hex").GetString()!);

        // RFC 8915 §5.6: AD = the packet up to the authenticator; C2S key for the request, S2C for the response.
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(packet, out NtpPacketLayout layout));
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));
        Assert.Equal(capture.GetProperty("nonce_hex").GetString(), Convert.ToHexStringLower(info.Nonce));

        using NtsAead aead = Create(NtsAeadAlgorithm.AesSivCmac512, key, intrinsics);
        byte[] plaintext = new byte[info.Ciphertext.Length - 16];
        Assert.True(aead.TryOpen(info.Nonce, info.AssociatedData, info.Ciphertext, plaintext));
        Assert.Equal(capture.GetProperty("decrypted_plaintext_hex").GetString(), Convert.ToHexStringLower(plaintext));

        // SIV is deterministic for a given nonce: sealing again reproduces the captured bytes.
        byte[] resealed = new byte[info.Ciphertext.Length];
        aead.Seal(info.Nonce, info.AssociatedData, plaintext, resealed);
        Assert.Equal(Convert.ToHexStringLower(info.Ciphertext), Convert.ToHexStringLower(resealed));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SelfGeneratedAead15RequestAndResponseOpen(bool intrinsics)
    {
        using JsonDocument doc = ReferenceVectors.Load(SelfGeneratedFile);
        JsonElement root = doc.RootElement;
        using NtsAead c2s = Create(NtsAeadAlgorithm.AesSivCmac256, Hex(root, "c2s_key"), intrinsics);
        using NtsAead s2c = Create(NtsAeadAlgorithm.AesSivCmac256, Hex(root, "s2c_key"), intrinsics);

        byte[] request = Hex(root, "request_hex");
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(NtpPacketLayout.Parse(request), out NtsPacketInfo sent));
        Assert.True(c2s.TryOpen(sent.Nonce, sent.AssociatedData, sent.Ciphertext, new byte[sent.Ciphertext.Length - 16]));
        Assert.False(s2c.TryOpen(sent.Nonce, sent.AssociatedData, sent.Ciphertext, new byte[sent.Ciphertext.Length - 16]));

        byte[] response = Hex(root, "response_hex");
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(NtpPacketLayout.Parse(response), out NtsPacketInfo received));
        byte[] plaintext = new byte[received.Ciphertext.Length - 16];
        Assert.True(s2c.TryOpen(received.Nonce, received.AssociatedData, received.Ciphertext, plaintext));
        Assert.Equal(root.GetProperty("response_plaintext_hex").GetString(), Convert.ToHexStringLower(plaintext));
    }

    [Theory]
    [MemberData(nameof(SivAlgorithmsOnBothPaths))]
    public void AnyFlippedBitFailsAuthenticationAndClearsThePlaintext(NtsAeadAlgorithm algorithm, bool intrinsics)
    {
        var random = new Random(15);
        using NtsAead aead = Create(algorithm, RandomBytes(random, NtsAead.GetKeyLength(algorithm)), intrinsics);
        AeadAssertions.AnyFlippedBitFails(aead, random);
    }

    [Theory]
    [MemberData(nameof(SivAlgorithmsOnBothPaths))]
    public void RandomLengthsRoundTripOnOneInstance(NtsAeadAlgorithm algorithm, bool intrinsics)
    {
        var random = new Random((int)algorithm);
        using NtsAead aead = Create(algorithm, RandomBytes(random, NtsAead.GetKeyLength(algorithm)), intrinsics);
        AeadAssertions.RoundTrips(aead, random, minNonce: 1, maxNonce: 40);
    }

    // OpenSSL's own EVP AES-SIV is an independent implementation: the only check AEAD 16 gets, and a second
    // one for 15 and 17 over lengths the vectors do not cover (OpenSSL cannot take empty AD or plaintext).
    [Theory]
    [MemberData(nameof(SivAlgorithmsOnBothPaths))]
    public void AgreesWithOpenSslEvpAesSiv(NtsAeadAlgorithm algorithm, bool intrinsics)
    {
        var random = new Random(1000 + (int)algorithm);
        for (int round = 0; round < 50; round++)
        {
            byte[] key = RandomBytes(random, NtsAead.GetKeyLength(algorithm));
            using AesSiv ours = Create(algorithm, key, intrinsics);
            using var openSsl = new OpenSslAead(algorithm, key);
            byte[] nonce = RandomBytes(random, random.Next(1, 33));
            byte[] ad = RandomBytes(random, random.Next(1, 301));
            byte[] plaintext = RandomBytes(random, random.Next(1, 301));
            byte[] expected = new byte[plaintext.Length + 16];
            byte[] actual = new byte[plaintext.Length + 16];
            openSsl.Seal(nonce, ad, plaintext, expected);
            ours.Seal(nonce, ad, plaintext, actual);
            Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(actual));

            byte[] opened = new byte[plaintext.Length];
            Assert.True(openSsl.TryOpen(nonce, ad, actual, opened));
            Assert.Equal(plaintext, opened);
            actual[random.Next(actual.Length)] ^= 0x40;
            Assert.False(openSsl.TryOpen(nonce, ad, actual, opened));
        }
    }

    // Messages longer than one 1536-byte CMAC/CTR run, and ragged at it. Self-generated with pyca/cryptography
    // 48 (AESSIV, S2V over [AD, nonce]): key 00..1f, nonce 00..0f, AD byte i = 7i+1, plaintext byte
    // i = 13i+5 (mod 256); the SHA-256 of SIV || ciphertext.
    [Theory]
    [InlineData(0, 0, "de75caa452cd03e5a7749427bcb96a6c4024c2af55df4f3273402f2e0705b8c5", true)]
    [InlineData(0, 0, "de75caa452cd03e5a7749427bcb96a6c4024c2af55df4f3273402f2e0705b8c5", false)]
    [InlineData(1537, 1535, "c2574499a06e0e3bc48b612b81d6dfc554d4ff25afd2c7e6a7812df8d98dc5df", true)]
    [InlineData(1537, 1535, "c2574499a06e0e3bc48b612b81d6dfc554d4ff25afd2c7e6a7812df8d98dc5df", false)]
    [InlineData(3100, 16, "af06295b3248061bb237e10a6104463b57959d66218eb3a3df2574c9a4ff8e09", true)]
    [InlineData(3100, 16, "af06295b3248061bb237e10a6104463b57959d66218eb3a3df2574c9a4ff8e09", false)]
    [InlineData(1536, 1536, "c99f6233b4765fcba318f6ae719287ed467447a1a172cb62fa7da489465f62c0", true)]
    [InlineData(1536, 1536, "c99f6233b4765fcba318f6ae719287ed467447a1a172cb62fa7da489465f62c0", false)]
    [InlineData(5, 4000, "a1737d4cee693504f41acd2db9a2ad4ae14776c4fa1230b4c68fa951da61896b", true)]
    [InlineData(5, 4000, "a1737d4cee693504f41acd2db9a2ad4ae14776c4fa1230b4c68fa951da61896b", false)]
    public void LongMessagesMatchPycaCryptography(int adLength, int plaintextLength, string sha256, bool intrinsics)
    {
        byte[] ad = AesGcmSivTests.Pattern(adLength, 7, 1);
        byte[] plaintext = AesGcmSivTests.Pattern(plaintextLength, 13, 5);
        byte[] nonce = AesGcmSivTests.Pattern(16, 1, 0);
        using NtsAead aead = Create(NtsAeadAlgorithm.AesSivCmac256, AesGcmSivTests.Pattern(32, 1, 0), intrinsics);
        byte[] output = new byte[plaintextLength + 16];
        aead.Seal(nonce, ad, plaintext, output);
        Assert.Equal(sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(output)));
        byte[] opened = new byte[plaintextLength];
        Assert.True(aead.TryOpen(nonce, ad, output, opened));
        Assert.Equal(plaintext, opened);
    }

    [Fact]
    public void OpenSslEvpAesSivRefusesWhatItWouldGetWrong()
    {
        using var openSsl = new OpenSslAead(NtsAeadAlgorithm.AesSivCmac256, new byte[32]);
        Assert.Throws<NotSupportedException>(() => openSsl.Seal(new byte[16], [], [1], new byte[17]));
        Assert.Throws<NotSupportedException>(() => openSsl.Seal(new byte[16], [1], [], new byte[16]));
    }

    [Fact]
    public void DoesNotNeedTheOpenSslAesSivCipherForEmptyInputs()
    {
        // chrony's vector 0 has empty associated data and plaintext, which OpenSSL 3.0's EVP AES-SIV cannot do;
        // the NTS client request of the ntpd-rs capture has an empty plaintext too.
        (byte[] key, byte[] nonce, byte[] ad, byte[] plaintext, byte[] expected) = ChronyVector(0);
        Assert.Empty(ad);
        Assert.Empty(plaintext);
        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.AesSivCmac256, key);
        Assert.IsType<AesSiv>(aead);
        byte[] output = new byte[16];
        aead.Seal(nonce, ad, plaintext, output);
        Assert.Equal(expected, output);
    }

    [Fact]
    public void FactoryUsesAesNiWhenTheCpuHasIt()
    {
        using var aead = (AesSiv)NtsAead.Create(NtsAeadAlgorithm.AesSivCmac256, new byte[32]);
        Assert.Equal(AesNi.IsSupported, aead.UsesIntrinsics);
        using var forced = new AesSiv(NtsAeadAlgorithm.AesSivCmac256, new byte[32], useIntrinsics: false);
        Assert.False(forced.UsesIntrinsics);
    }

    // The AES-NI path against the OpenSSL path, byte for byte, over the general S2V vector: random keys of
    // all three sizes, 0..4 associated-data components of 0..600 bytes, plaintexts of 0..600 bytes (every
    // CMAC tail case and CTR tail case), then open on the other path and tamper.
    [Fact]
    public void AesNiPathMatchesOpenSslPathOnRandomInputs()
    {
        var random = new Random(5297);
        NtsAeadAlgorithm[] algorithms = [NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.AesSivCmac384, NtsAeadAlgorithm.AesSivCmac512];
        for (int round = 0; round < 300; round++)
        {
            NtsAeadAlgorithm algorithm = algorithms[round % 3];
            byte[] key = RandomBytes(random, NtsAead.GetKeyLength(algorithm));
            using var managed = new AesSiv(algorithm, key, useIntrinsics: true);
            using var openSsl = new AesSiv(algorithm, key, useIntrinsics: false);
            Assert.True(managed.UsesIntrinsics);
            ReadOnlyMemory<byte>[] components = new ReadOnlyMemory<byte>[random.Next(1, 5)];
            for (int i = 0; i < components.Length; i++)
            {
                components[i] = RandomBytes(random, RandomLength(random));
            }

            byte[] plaintext = RandomBytes(random, RandomLength(random));
            byte[] expected = new byte[plaintext.Length + 16];
            byte[] actual = new byte[plaintext.Length + 16];
            openSsl.SealVector(components, plaintext, expected);
            managed.SealVector(components, plaintext, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"round {round}: {algorithm}, components {string.Join(",", components.Select(c => c.Length))}, plaintext {plaintext.Length}");

            // The NTS convention (associated data, nonce) through Seal as well.
            byte[] nonce = components[^1].ToArray();
            byte[] ad = components[0].ToArray();
            if (nonce.Length > 0)
            {
                openSsl.Seal(nonce, ad, plaintext, expected);
                managed.Seal(nonce, ad, plaintext, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"round {round}: Seal with ad {ad.Length}, nonce {nonce.Length}, plaintext {plaintext.Length}");
                byte[] openedByManaged = new byte[plaintext.Length];
                Assert.True(managed.TryOpen(nonce, ad, expected, openedByManaged));
                Assert.Equal(plaintext, openedByManaged);
            }

            byte[] opened = new byte[plaintext.Length];
            openSsl.SealVector(components, plaintext, expected);
            Assert.True(managed.TryOpenVector(components, expected, opened));
            Assert.Equal(plaintext, opened);
            Assert.True(openSsl.TryOpenVector(components, expected, opened));
            Assert.Equal(plaintext, opened);

            // Tampering anywhere in V || C fails on both paths and clears the plaintext.
            expected[random.Next(expected.Length)] ^= (byte)(1 << random.Next(8));
            opened.AsSpan().Fill(0xaa);
            Assert.False(managed.TryOpenVector(components, expected, opened));
            Assert.True(opened.AsSpan().IndexOfAnyExcept((byte)0) < 0);
            Assert.False(openSsl.TryOpenVector(components, expected, opened));
        }

        // Mostly short (NTS-sized) lengths, with the block boundaries and the odd long one.
        static int RandomLength(Random random) => random.Next(4) switch
        {
            0 => random.Next(0, 33),
            1 => Math.Max(0, (16 * random.Next(0, 10)) + random.Next(-1, 2)),
            _ => random.Next(0, 601),
        };
    }

    // The server path on both AES paths: per request, SetKey (C2S), open, SetKey (S2C), seal. Three
    // measured rounds (AllocationAssert): a per-call allocation shows in each, tiered JIT's one-off work in one only.
    [Theory]
    [MemberData(nameof(SivAlgorithmsOnBothPaths))]
    public void SetKeySealAndOpenAllocateNothingAfterWarmUp(NtsAeadAlgorithm algorithm, bool intrinsics)
    {
        var random = new Random(8915);
        int keyLength = NtsAead.GetKeyLength(algorithm);
        byte[] c2s = RandomBytes(random, keyLength);
        byte[] s2c = RandomBytes(random, keyLength);
        using AesSiv aead = Create(algorithm, c2s, intrinsics);
        byte[] nonce = RandomBytes(random, 16);
        byte[] ad = RandomBytes(random, 200);
        byte[] plaintext = RandomBytes(random, 100);
        byte[] request = new byte[116];
        byte[] response = new byte[116];
        byte[] opened = new byte[100];
        aead.Seal(nonce, ad, plaintext, request);
        int failures = 0;
        void Request()
        {
            aead.SetKey(c2s);
            if (!aead.TryOpen(nonce, ad, request, opened))
            {
                failures++;
            }

            aead.SetKey(s2c);
            aead.Seal(nonce, ad, opened, response);
        }

        for (int i = 0; i < 200; i++)
        {
            Request();
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    Request();
                }
            },
            "1000 requests");

        Assert.Equal(0, failures);
    }

    internal static AesSiv Create(NtsAeadAlgorithm algorithm, byte[] key, bool intrinsics)
    {
        var aead = new AesSiv(algorithm, key, intrinsics);
        Assert.Equal(intrinsics && AesNi.IsSupported, aead.UsesIntrinsics);
        return aead;
    }

    internal static (byte[] Key, byte[] Nonce, byte[] AssociatedData, byte[] Plaintext, byte[] Output) ChronyVector(int index)
    {
        using JsonDocument doc = ReferenceVectors.Load(ChronyVectorFile);
        JsonElement v = doc.RootElement[index];
        return (Hex(v, "key"), Hex(v, "nonce"), Hex(v, "associated_data"), Hex(v, "plaintext"), Hex(v, "ciphertext"));
    }

    internal static TheoryData<int> VectorIndexes(int aeadId)
    {
        using JsonDocument doc = ReferenceVectors.Load(ChronyVectorFile);
        var data = new TheoryData<int>();
        int index = 0;
        foreach (JsonElement v in doc.RootElement.EnumerateArray())
        {
            if (v.GetProperty("aead_id").GetInt32() == aeadId)
            {
                data.Add(index);
            }

            index++;
        }

        return data;
    }

    internal static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Rfc4493Key()
    {
        using JsonDocument doc = ReferenceVectors.Load(RfcVectorFile);
        return doc.RootElement.GetProperty("rfc4493").GetProperty("key").GetString()!;
    }

    private static byte[] Hex(JsonElement element, string name) => Convert.FromHexString(element.GetProperty(name).GetString()!);
}
