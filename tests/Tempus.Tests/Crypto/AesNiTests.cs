using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Tempus.Crypto;

namespace Tempus.Tests.Crypto;

public sealed class AesNiTests
{
    // FIPS-197 Appendix C.1-C.3: the example vectors, plaintext 00112233445566778899aabbccddeeff.
    public static TheoryData<string, string, string> Fips197AppendixC() => new()
    {
        { "FIPS-197 C.1 AES-128", "000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a" },
        { "FIPS-197 C.2 AES-192", "000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191" },
        { "FIPS-197 C.3 AES-256", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089" },
    };

    // FIPS-197 Appendix A.1-A.3: the key expansion examples; round key 1 (w4..w7), 2 (w8..w11) and the last.
    public static TheoryData<string, string, string, string, string> Fips197AppendixA() => new()
    {
        {
            "FIPS-197 A.1 AES-128", "2b7e151628aed2a6abf7158809cf4f3c",
            "a0fafe1788542cb123a339392a6c7605", "f2c295f27a96b9435935807a7359f67f", "d014f9a8c9ee2589e13f0cc8b6630ca6"
        },
        {
            "FIPS-197 A.2 AES-192", "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
            "62f8ead2522c6b7bfe0c91f72402f5a5", "ec12068e6c827f6b0e7a95b95c56fec2", "e98ba06f448c773c8ecc720401002202"
        },
        {
            "FIPS-197 A.3 AES-256", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "1f352c073b6108d72d9810a30914dff4", "9ba354118e6925afa51a8b5f2067fcde", "fe4890d1e6188d0b046df344706c631e"
        },
    };

    [Fact]
    public void ThisMachineHasAesNiSoTheManagedPathsAreExercised()
    {
        // The equivalence tests compare the AES-NI path with OpenSSL; on a CPU without AES-NI they would
        // compare OpenSSL with itself. The project's build and test machines have it (x86-64 since 2010).
        Assert.True(AesNi.IsSupported, "this CPU or runtime lacks AES-NI: the managed AES paths are not being tested");
    }

    [Theory]
    [MemberData(nameof(Fips197AppendixC))]
    public void SingleBlockMatchesFips197AppendixC(string section, string keyHex, string ciphertextHex)
    {
        _ = section;
        var key = default(AesNiKey);
        key.Expand(Convert.FromHexString(keyHex));
        byte[] output = new byte[16];
        key.Encrypt(Convert.FromHexString("00112233445566778899aabbccddeeff"), output);
        Assert.Equal(ciphertextHex, Convert.ToHexStringLower(output));
        Assert.Equal(6 + (keyHex.Length / 8), key.Rounds);
    }

    [Theory]
    [MemberData(nameof(Fips197AppendixA))]
    public void KeyExpansionMatchesFips197AppendixA(string section, string keyHex, string round1Hex, string round2Hex, string lastHex)
    {
        _ = section;
        var key = default(AesNiKey);
        key.Expand(Convert.FromHexString(keyHex));
        Assert.Equal(round1Hex, Hex(key.RoundKey(1)));
        Assert.Equal(round2Hex, Hex(key.RoundKey(2)));
        Assert.Equal(lastHex, Hex(key.RoundKey(key.Rounds)));
        Assert.Equal(keyHex[..32], Hex(key.RoundKey(0)));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(32)]
    public void SingleAndFourBlockEncryptionAgreeWithDotNetAesOnRandomKeys(int keyLength)
    {
        var random = new Random(197 + keyLength);
        for (int round = 0; round < 200; round++)
        {
            byte[] keyBytes = AesSivTests.RandomBytes(random, keyLength);
            byte[] blocks = AesSivTests.RandomBytes(random, 64);
            using var reference = Aes.Create();
            reference.Key = keyBytes;
            byte[] expected = reference.EncryptEcb(blocks, PaddingMode.None);

            var key = default(AesNiKey);
            key.Expand(keyBytes);
            byte[] single = new byte[16];
            key.Encrypt(blocks, single);
            Assert.Equal(expected.AsSpan(0, 16).ToArray(), single);

            Vector128<byte> b0 = Vector128.Create(blocks, 0);
            Vector128<byte> b1 = Vector128.Create(blocks, 16);
            Vector128<byte> b2 = Vector128.Create(blocks, 32);
            Vector128<byte> b3 = Vector128.Create(blocks, 48);
            key.Encrypt4(ref b0, ref b1, ref b2, ref b3);
            Assert.Equal(Convert.ToHexStringLower(expected), Hex(b0) + Hex(b1) + Hex(b2) + Hex(b3));
        }
    }

    [Fact]
    public void ReExpandingReplacesTheWholeScheduleAndClearWipesIt()
    {
        var key = default(AesNiKey);
        key.Expand(new byte[32]);
        key.Expand(Convert.FromHexString("000102030405060708090a0b0c0d0e0f"));
        byte[] output = new byte[16];
        key.Encrypt(Convert.FromHexString("00112233445566778899aabbccddeeff"), output);
        Assert.Equal("69c4e0d86a7b0430d8cdb78070b4c55a", Convert.ToHexStringLower(output));

        key.Clear();
        Assert.Equal(0, key.Rounds);
        Span<byte> raw = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref key, 1));
        Assert.True(raw.Length >= 15 * 16);
        Assert.True(raw.IndexOfAnyExcept((byte)0) < 0, "round keys survived Clear");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(20)]
    [InlineData(64)]
    public void KeysOfOtherLengthsAreRefused(int length)
    {
        var key = default(AesNiKey);
        ArgumentException e = Assert.Throws<ArgumentException>(() => key.Expand(new byte[length]));
        Assert.Contains($"got {length}", e.Message);
    }

    [Fact]
    public void DoublingMatchesRfc4493Subkeys()
    {
        // RFC 4493 §4: L = AES-128(K, 0), K1 = dbl(L) = fbeed618..., K2 = dbl(K1) = f7ddac30...
        Vector128<byte> l = Vector128.Create(Convert.FromHexString("7df76b0c1ab899b33e42f047b91b546f"));
        Vector128<byte> k1 = AesNi.Dbl(l);
        Assert.Equal("fbeed618357133667c85e08f7236a8de", Hex(k1));
        Assert.Equal("f7ddac306ae266ccf90bc11ee46d513b", Hex(AesNi.Dbl(k1)));
    }

    [Fact]
    public void DoublingMatchesTheBigEndianShiftAndReductionOnEdgeAndRandomBlocks()
    {
        // RFC 5297 §2.3: dbl(S) = S << 1 if the top bit of S is 0, else (S << 1) xor 0^120 || 10000111; the
        // blocks chosen carry a bit across every byte and across the middle of the block, with and without R_b.
        var blocks = new List<UInt128>
        {
            0,
            1,
            UInt128.MaxValue,
            (UInt128)1 << 127,
            (UInt128)1 << 63,
            ((UInt128)1 << 64) - 1,
            new UInt128(0x8080808080808080, 0x8080808080808080),
            new UInt128(0x7fffffffffffffff, 0xffffffffffffffff),
        };
        var random = new Random(4493);
        for (int i = 0; i < 500; i++)
        {
            blocks.Add(new UInt128((ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63), (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63)));
        }

        byte[] bytes = new byte[16];
        foreach (UInt128 value in blocks)
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
            UInt128 expected = (value << 1) ^ (value >> 127 == 1 ? (UInt128)0x87 : 0);
            AesNi.Dbl(Vector128.Create(bytes)).CopyTo(bytes);
            Assert.Equal(expected, BinaryPrimitives.ReadUInt128BigEndian(bytes));
        }
    }

    [Fact]
    public void CtrOfEveryLengthUpToNineBlocksMatchesTheBlockByBlockKeystream()
    {
        // The CTR tail runs whole blocks in registers and the partial one in 8/4/2/1-byte pieces: every length
        // 0-144, into a separate buffer and in place, against counter blocks encrypted one by one.
        byte[] key = RandomNumberGenerator.GetBytes(16);
        AesNiKey[] schedule = AesNiKeys.Allocate(1);
        schedule[0].Expand(key);
        byte[] initial = RandomNumberGenerator.GetBytes(16);
        var counters = new TestCounter(Vector128.Create(initial));
        for (int length = 0; length <= 9 * 16; length++)
        {
            byte[] input = RandomNumberGenerator.GetBytes(length);
            byte[] expected = new byte[length];
            for (int i = 0; i < length; i++)
            {
                Vector128<byte> keystream = schedule[0].Encrypt(counters.Block((uint)(i / 16)));
                expected[i] = (byte)(input[i] ^ keystream.GetElement(i % 16));
            }

            byte[] output = new byte[length];
            AesNi.Ctr(in schedule[0], input, output, counters);
            Assert.True(expected.AsSpan().SequenceEqual(output), $"length {length}");
            AesNi.Ctr(in schedule[0], input, input, counters);
            Assert.True(expected.AsSpan().SequenceEqual(input), $"length {length}, in place");
        }
    }

    private readonly struct TestCounter(Vector128<byte> initial) : AesNi.ICounterBlocks
    {
        public Vector128<byte> Block(uint index) => initial.AsUInt32().WithElement(0, initial.AsUInt32().GetElement(0) + index).AsByte();
    }

    private static string Hex(Vector128<byte> block)
    {
        byte[] bytes = new byte[16];
        block.CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
