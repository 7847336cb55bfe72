using System.Text;
using System.Text.Json;
using Tempus.Auth;
using Tempus.Tests.TestData;

namespace Tempus.Tests.Auth;

/// <summary>
/// NTP MAC vectors from classic ntp and NTPsec (shared/reference/vectors). RFC 5905 §7.3 (digest =
/// H(key || message)), RFC 8573 §4 (AES-128-CMAC).
/// </summary>
public sealed class MacVectorTests
{
    private const string SmallVectors = "ntp_symmetric_mac_small_vectors.json";
    private const string ClassicVectors = "ntp_classic_digests_vectors.json";

    public static TheoryData<string, string, string, string, string> SmallMacVectors()
    {
        using JsonDocument doc = ReferenceVectors.Load(SmallVectors);
        var data = new TheoryData<string, string, string, string, string>();
        foreach (JsonElement v in doc.RootElement.EnumerateArray())
        {
            string expected = v.TryGetProperty("digest_hex", out JsonElement d) ? d.GetString()!
                : v.TryGetProperty("tag_hex", out JsonElement t) ? t.GetString()!
                : v.GetProperty("mac_field_hex").GetString()!;
            data.Add(v.GetProperty("source").GetString()!, v.GetProperty("type").GetString()!, v.GetProperty("key_hex").GetString()!, v.GetProperty("message_hex").GetString()!, expected);
        }

        return data;
    }

    public static TheoryData<uint, string, string, string> ClassicSupportedVectors() => ClassicVectorsOfTypes("MD5", "SHA1", "AES128CMAC");

    public static TheoryData<uint, string, string, string> ClassicRefusedVectors() => ClassicVectorsOfTypes("SHA", "RIPEMD160");

    [Theory]
    [MemberData(nameof(SmallMacVectors))]
    public void SmallVectorDigestMatches(string source, string type, string keyHex, string messageHex, string expectedHex)
    {
        _ = source;
        MacAlgorithm algorithm = type == "MD5" ? MacAlgorithm.Md5 : MacAlgorithm.Aes128Cmac;
        byte[] message = Convert.FromHexString(messageHex);
        byte[] expected = Convert.FromHexString(expectedHex);
        uint id = 100;
        if (expected.Length == 20)
        {
            // A whole MAC field: key id then digest.
            id = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(expected);
        }

        using var key = new SymmetricKey(id, algorithm, Convert.FromHexString(keyHex), "vector");
        byte[] digest = new byte[key.DigestLength];
        Assert.Equal(16, key.ComputeDigest(message, digest));
        Assert.Equal(Convert.ToHexStringLower(expected[^16..]), Convert.ToHexStringLower(digest));
        Assert.True(key.VerifyDigest(message, expected.AsSpan(expected.Length - 16)));
        if (expected.Length == 20)
        {
            byte[] mac = new byte[20];
            Assert.Equal(20, key.WriteMac(message, mac));
            Assert.Equal(expected, mac);
        }
    }

    [Theory]
    [MemberData(nameof(ClassicSupportedVectors))]
    public void ClassicNtpKeysLineYieldsTheKeyBytesNtpdUses(uint id, string type, string keyInFile, string keyBytesUsedHex)
    {
        // ntp-dev tests/libntp/digests.c: the MACs are over a 40964-byte JPEG that the vector file
        // does not carry, so this checks the part Tempus decides: which key bytes a line means
        // (ASCII up to 20 characters, hex beyond, AES keys cut to 16 bytes). The digest itself is
        // H(key || message) and CMAC, covered by the RFC and NTPsec vectors above.
        var warnings = new List<KeyFileWarning>();
        IReadOnlyList<SymmetricKey> keys = KeyFile.Parse($"{id} {type} {keyInFile}\n", "ntp.keys", warnings);
        using SymmetricKey parsed = Assert.Single(keys);
        Assert.Equal(id, parsed.Id);
        MacAlgorithm algorithm = type switch
        {
            "MD5" => MacAlgorithm.Md5,
            "SHA1" => MacAlgorithm.Sha1,
            _ => MacAlgorithm.Aes128Cmac,
        };
        Assert.Equal(algorithm, parsed.Algorithm);
        using var reference = new SymmetricKey(id, algorithm, Convert.FromHexString(keyBytesUsedHex), "vector");
        Assert.Equal(reference.KeyLengthBits, parsed.KeyLengthBits);
        byte[] message = Encoding.ASCII.GetBytes("any message: equal keys give equal MACs");
        byte[] expected = new byte[reference.MacLength];
        byte[] actual = new byte[parsed.MacLength];
        reference.WriteMac(message, expected);
        parsed.WriteMac(message, actual);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(ClassicRefusedVectors))]
    public void ClassicVectorsOfUnsupportedDigestsAreRefusedWithAReason(uint id, string type, string keyInFile, string keyBytesUsedHex)
    {
        _ = keyBytesUsedHex;
        var e = Assert.Throws<KeyFileException>(() => KeyFile.Parse($"{id} {type} {keyInFile}\n", "ntp.keys", []));
        Assert.Equal(1, e.Line);
        if (type == "SHA")
        {
            Assert.Equal($"ntp.keys:1: key {id}: digest type SHA is SHA-0, which is insecure and unsupported: use SHA1, or better AES128CMAC", e.Message);
        }
        else
        {
            Assert.Equal($"ntp.keys:1: key {id}: digest type 'RIPEMD160' is unsupported (expected MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256)", e.Message);
        }
    }

    [Fact]
    public void ClassicVectorFileHasTheExpectedTypes()
    {
        // Guards the theories above against a vector file that silently lost its entries.
        Assert.Equal(6, ClassicSupportedVectors().Count);
        Assert.Equal(4, ClassicRefusedVectors().Count);
        Assert.Equal(3, SmallMacVectors().Count);
    }

    private static TheoryData<uint, string, string, string> ClassicVectorsOfTypes(params string[] types)
    {
        using JsonDocument doc = ReferenceVectors.Load(ClassicVectors);
        var data = new TheoryData<uint, string, string, string>();
        foreach (JsonElement v in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            string type = v.GetProperty("type").GetString()!;
            if (types.Contains(type))
            {
                data.Add(v.GetProperty("keyid").GetUInt32(), type, v.GetProperty("key_in_file").GetString()!, v.GetProperty("key_bytes_used_hex").GetString()!);
            }
        }

        return data;
    }
}
