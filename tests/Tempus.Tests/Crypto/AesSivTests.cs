using System.Text.Json;
using Tempus.Crypto;
using Tempus.Protocol;
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

    // RFC 4493 §4, examples 1-4: the CMAC inside S2V, keyed with K1 (the first half of an AEAD 15 key).
    public static TheoryData<string, string, string> Rfc4493Examples()
    {
        using JsonDocument doc = ReferenceVectors.Load(RfcVectorFile);
        var data = new TheoryData<string, string, string>();
        foreach (JsonElement example in doc.RootElement.GetProperty("rfc4493").GetProperty("examples").EnumerateArray())
        {
            data.Add($"RFC 4493 §4 {example.GetProperty("name").GetString()}", example.GetProperty("message").GetString()!, example.GetProperty("tag").GetString()!);
        }

        return data;
    }

    // RFC 5297 appendix A.1 (deterministic, one AD component) and A.2 (nonce-based: AD1, AD2, nonce).
    public static TheoryData<string> Rfc5297Examples()
    {
        using JsonDocument doc = ReferenceVectors.Load(RfcVectorFile);
        var data = new TheoryData<string>();
        foreach (JsonProperty example in doc.RootElement.GetProperty("rfc5297").EnumerateObject())
        {
            data.Add(example.Name);
        }

        return data;
    }

    // chrony test/unit/siv.c: the 7 AEAD_AES_SIV_CMAC_256 vectors, in the NTS calling convention
    // (RFC 8915 §5.6: S2V over associated data, nonce, plaintext; output SIV || ciphertext).
    public static TheoryData<int> ChronyAead15Vectors() => VectorIndexes(15);

    // ntpd-rs ntp-proto packet tests: a real client request and server response with AEAD 17 keys.
    public static TheoryData<string> NtpdRsPackets() => new("test_nts_captured_client", "test_nts_captured_server");

    [Theory]
    [MemberData(nameof(Rfc4493Examples))]
    public void CmacCoreMatchesRfc4493Example(string section, string messageHex, string tagHex)
    {
        _ = section;
        byte[] key = new byte[32];
        Convert.FromHexString(Rfc4493Key()).CopyTo(key, 0);
        using var siv = new AesSiv(NtsAeadAlgorithm.AesSivCmac256, key);
        byte[] tag = new byte[16];

        // Twice: the second CMAC starts from the CBC context's chaining value, not from a reset IV.
        siv.ComputeCmac(Convert.FromHexString(messageHex), tag);
        siv.ComputeCmac(Convert.FromHexString(messageHex), tag);
        Assert.Equal(tagHex, Convert.ToHexStringLower(tag));
    }

    [Theory]
    [MemberData(nameof(Rfc5297Examples))]
    public void SealAndOpenMatchRfc5297Example(string name)
    {
        using JsonDocument doc = ReferenceVectors.Load(RfcVectorFile);
        JsonElement example = doc.RootElement.GetProperty("rfc5297").GetProperty(name);
        byte[] key = Hex(example, "key");
        ReadOnlyMemory<byte>[] components = example.GetProperty("ad_components").EnumerateArray().Select(c => (ReadOnlyMemory<byte>)Convert.FromHexString(c.GetString()!)).ToArray();
        byte[] plaintext = Hex(example, "plaintext");
        byte[] expected = Hex(example, "output_iv_concat_ciphertext");

        using var siv = new AesSiv(NtsAeadAlgorithm.AesSivCmac256, key);
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
    public void SealMatchesChronyVector(int index)
    {
        (byte[] key, byte[] nonce, byte[] ad, byte[] plaintext, byte[] expected) = ChronyVector(index);
        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.AesSivCmac256, key);
        byte[] output = new byte[plaintext.Length + 16];
        aead.Seal(nonce, ad, plaintext, output);
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(output));

        byte[] opened = new byte[plaintext.Length];
        Assert.True(aead.TryOpen(nonce, ad, expected, opened));
        Assert.Equal(plaintext, opened);
    }

    [Theory]
    [MemberData(nameof(NtpdRsPackets))]
    public void RealNtpdRsPacketOpensWithItsAead17Key(string name)
    {
        using JsonDocument doc = ReferenceVectors.Load(NtpdRsPacketFile);
        JsonElement capture = doc.RootElement.GetProperty(name);
        byte[] packet = Convert.FromHexString(capture.GetProperty("packet_hex").GetString()!);
        byte[] key = Convert.FromHexString(capture.GetProperty("key_hex").GetString()!);

        // RFC 8915 §5.6: AD = the packet up to the authenticator; C2S key for the request, S2C for the response.
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(packet, out NtpPacketLayout layout));
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));
        Assert.Equal(capture.GetProperty("nonce_hex").GetString(), Convert.ToHexStringLower(info.Nonce));

        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.AesSivCmac512, key);
        byte[] plaintext = new byte[info.Ciphertext.Length - 16];
        Assert.True(aead.TryOpen(info.Nonce, info.AssociatedData, info.Ciphertext, plaintext));
        Assert.Equal(capture.GetProperty("decrypted_plaintext_hex").GetString(), Convert.ToHexStringLower(plaintext));

        // SIV is deterministic for a given nonce: sealing again reproduces the captured bytes.
        byte[] resealed = new byte[info.Ciphertext.Length];
        aead.Seal(info.Nonce, info.AssociatedData, plaintext, resealed);
        Assert.Equal(Convert.ToHexStringLower(info.Ciphertext), Convert.ToHexStringLower(resealed));
    }

    [Fact]
    public void SelfGeneratedAead15RequestAndResponseOpen()
    {
        using JsonDocument doc = ReferenceVectors.Load(SelfGeneratedFile);
        JsonElement root = doc.RootElement;
        using NtsAead c2s = NtsAead.Create(NtsAeadAlgorithm.AesSivCmac256, Hex(root, "c2s_key"));
        using NtsAead s2c = NtsAead.Create(NtsAeadAlgorithm.AesSivCmac256, Hex(root, "s2c_key"));

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
    [MemberData(nameof(SivAlgorithms))]
    public void AnyFlippedBitFailsAuthenticationAndClearsThePlaintext(NtsAeadAlgorithm algorithm)
    {
        var random = new Random(15);
        using NtsAead aead = NtsAead.Create(algorithm, RandomBytes(random, NtsAead.GetKeyLength(algorithm)));
        AeadAssertions.AnyFlippedBitFails(aead, random);
    }

    [Theory]
    [MemberData(nameof(SivAlgorithms))]
    public void RandomLengthsRoundTripOnOneInstance(NtsAeadAlgorithm algorithm)
    {
        var random = new Random((int)algorithm);
        using NtsAead aead = NtsAead.Create(algorithm, RandomBytes(random, NtsAead.GetKeyLength(algorithm)));
        AeadAssertions.RoundTrips(aead, random, minNonce: 1, maxNonce: 40);
    }

    // OpenSSL's own EVP AES-SIV is an independent implementation: the only check AEAD 16 gets, and a second
    // one for 15 and 17 over lengths the vectors do not cover (OpenSSL cannot take empty AD or plaintext).
    [Theory]
    [MemberData(nameof(SivAlgorithms))]
    public void AgreesWithOpenSslEvpAesSiv(NtsAeadAlgorithm algorithm)
    {
        var random = new Random(1000 + (int)algorithm);
        for (int round = 0; round < 50; round++)
        {
            byte[] key = RandomBytes(random, NtsAead.GetKeyLength(algorithm));
            using var ours = new AesSiv(algorithm, key);
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
    [InlineData(0, 0, "de75caa452cd03e5a7749427bcb96a6c4024c2af55df4f3273402f2e0705b8c5")]
    [InlineData(1537, 1535, "c2574499a06e0e3bc48b612b81d6dfc554d4ff25afd2c7e6a7812df8d98dc5df")]
    [InlineData(3100, 16, "af06295b3248061bb237e10a6104463b57959d66218eb3a3df2574c9a4ff8e09")]
    [InlineData(1536, 1536, "c99f6233b4765fcba318f6ae719287ed467447a1a172cb62fa7da489465f62c0")]
    [InlineData(5, 4000, "a1737d4cee693504f41acd2db9a2ad4ae14776c4fa1230b4c68fa951da61896b")]
    public void LongMessagesMatchPycaCryptography(int adLength, int plaintextLength, string sha256)
    {
        byte[] ad = AesGcmSivTests.Pattern(adLength, 7, 1);
        byte[] plaintext = AesGcmSivTests.Pattern(plaintextLength, 13, 5);
        byte[] nonce = AesGcmSivTests.Pattern(16, 1, 0);
        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.AesSivCmac256, AesGcmSivTests.Pattern(32, 1, 0));
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
