using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace Tempus.Crypto;

/// <summary>
/// The AES block cipher (FIPS-197) on the x86 AES-NI instructions, encryption direction only: AES-SIV,
/// AES-CMAC, AES-GCM-SIV and their CTR modes never run the inverse cipher.
/// </summary>
/// <remarks>
/// <para>
/// Why not OpenSSL: an NTS request re-keys twice and runs a few short CMAC chains and one CTR; through
/// EVP each re-key is a full EVP_EncryptInit_ex (about 160 ns on OpenSSL 3.0) and each update pays the
/// provider dispatch, which together cost more than the AES rounds themselves. Here a key expansion is a
/// few dozen instructions and a block is the round instructions alone.
/// </para>
/// <para>
/// Constant time: the S-box is only ever applied by the AESENC/AESENCLAST/AESKEYGENASSIST instructions,
/// so no memory access depends on a key or data byte, and no branch or table index depends on anything
/// but the key and message lengths. The CTR keystream lives in registers and in one stack block that is
/// wiped; register spills the JIT may make are beyond reach, as in any managed code.
/// </para>
/// </remarks>
internal static class AesNi
{
    /// <summary>The AES block size in bytes.</summary>
    internal const int BlockSize = 16;

    /// <summary>
    /// PSHUFB indices for the xorend: 16 bytes from offset 16 - r place D at byte r of a block, 16 bytes
    /// from offset 32 - r place D's last r bytes at the start of the next one (0x80: a zero byte).
    /// </summary>
    private static ReadOnlySpan<byte> XorEndWindow =>
    [
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    ];

    /// <summary>RFC 4493 §2.4 padding: 16 bytes from offset 16 - r have 0x80 at byte r, zero elsewhere.</summary>
    private static ReadOnlySpan<byte> PadWindow =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    /// <summary>Whether this CPU and runtime have the AES-NI and SSSE3 instructions this class is built on.</summary>
    internal static bool IsSupported => X86Aes.IsSupported && Ssse3.IsSupported;

    /// <summary>Loads the 16 bytes at <paramref name="offset"/> of <paramref name="source"/> as one AES block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> Load(ReadOnlySpan<byte> source, int offset) =>
        Vector128.Create(source.Slice(offset, BlockSize));

    /// <summary>
    /// XORs <paramref name="input"/> with the AES-CTR keystream of <paramref name="key"/> into
    /// <paramref name="output"/> (same length; they may be the same span), four blocks at a time so that the
    /// AES rounds of independent blocks overlap in the pipeline. <paramref name="counters"/> makes the
    /// i-th counter block from the initial one, which is where the modes differ.
    /// </summary>
    internal static void Ctr<TCounter>(ref readonly AesNiKey key, ReadOnlySpan<byte> input, Span<byte> output, TCounter counters)
        where TCounter : struct, ICounterBlocks
    {
        uint index = 0;
        int offset = 0;
        for (; input.Length - offset >= 4 * BlockSize; offset += 4 * BlockSize, index += 4)
        {
            Vector128<byte> b0 = counters.Block(index);
            Vector128<byte> b1 = counters.Block(index + 1);
            Vector128<byte> b2 = counters.Block(index + 2);
            Vector128<byte> b3 = counters.Block(index + 3);
            key.Encrypt4(ref b0, ref b1, ref b2, ref b3);
            (b0 ^ Load(input, offset)).CopyTo(output[offset..]);
            (b1 ^ Load(input, offset + 16)).CopyTo(output[(offset + 16)..]);
            (b2 ^ Load(input, offset + 32)).CopyTo(output[(offset + 32)..]);
            (b3 ^ Load(input, offset + 48)).CopyTo(output[(offset + 48)..]);
        }

        if (offset == input.Length)
        {
            return;
        }

        // The last one to four blocks, the last possibly partial: four blocks cost no more latency than one. Whole
        // blocks are XORed in registers, the partial one in 8, 4, 2 and 1-byte pieces: the keystream never goes to
        // memory, and the branches depend on the length only.
        Vector128<byte> c0 = counters.Block(index);
        Vector128<byte> c1 = counters.Block(index + 1);
        Vector128<byte> c2 = counters.Block(index + 2);
        Vector128<byte> c3 = counters.Block(index + 3);
        key.Encrypt4(ref c0, ref c1, ref c2, ref c3);
        Vector128<byte> last = c0;
        if (input.Length - offset > BlockSize)
        {
            (c0 ^ Load(input, offset)).CopyTo(output[offset..]);
            offset += BlockSize;
            last = c1;
            if (input.Length - offset > BlockSize)
            {
                (c1 ^ Load(input, offset)).CopyTo(output[offset..]);
                offset += BlockSize;
                last = c2;
                if (input.Length - offset > BlockSize)
                {
                    (c2 ^ Load(input, offset)).CopyTo(output[offset..]);
                    offset += BlockSize;
                    last = c3;
                }
            }
        }

        if (input.Length - offset == BlockSize)
        {
            (last ^ Load(input, offset)).CopyTo(output[offset..]);
        }
        else
        {
            XorPartial(last, input[offset..], output[offset..]);
        }
    }

    /// <summary>XORs the first <c>input.Length</c> (1 to 15) bytes of <paramref name="keystream"/> into <paramref name="output"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void XorPartial(Vector128<byte> keystream, ReadOnlySpan<byte> input, Span<byte> output)
    {
        int length = input.Length;
        output = output[..length];
        int offset = 0;
        if ((length & 8) != 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(output, BinaryPrimitives.ReadUInt64LittleEndian(input) ^ keystream.AsUInt64().ToScalar());
            keystream = Sse2.ShiftRightLogical128BitLane(keystream, 8);
            offset = 8;
        }

        if ((length & 4) != 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(output[offset..], BinaryPrimitives.ReadUInt32LittleEndian(input[offset..]) ^ keystream.AsUInt32().ToScalar());
            keystream = Sse2.ShiftRightLogical128BitLane(keystream, 4);
            offset += 4;
        }

        if ((length & 2) != 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(output[offset..], (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(input[offset..]) ^ keystream.AsUInt16().ToScalar()));
            keystream = Sse2.ShiftRightLogical128BitLane(keystream, 2);
            offset += 2;
        }

        if ((length & 1) != 0)
        {
            output[offset] = (byte)(input[offset] ^ keystream.ToScalar());
        }
    }

    /// <summary>
    /// AES-CMAC (RFC 4493 §2.4) of <paramref name="message"/> under <paramref name="key"/> with the subkeys
    /// <paramref name="k1"/> and <paramref name="k2"/>, chained straight over the caller's span. With
    /// <paramref name="hasXorEnd"/> (the message is then at least 16 bytes), <paramref name="xorEnd"/> is
    /// XORed onto the last 16 bytes of the message first: RFC 5297 §2.4's "S_n xorend D".
    /// </summary>
    internal static Vector128<byte> Cmac(ref readonly AesNiKey key, Vector128<byte> k1, Vector128<byte> k2, ReadOnlySpan<byte> message, Vector128<byte> xorEnd, bool hasXorEnd)
    {
        int direct = CmacDirectLength(message.Length, hasXorEnd);
        Vector128<byte> x = CbcMac(in key, Vector128<byte>.Zero, message[..direct]);
        return CmacFinish(in key, k1, k2, x, message, direct, xorEnd, hasXorEnd);
    }

    /// <summary>
    /// How many leading bytes (whole blocks) of a CMAC message of <paramref name="length"/> bytes chain as
    /// they are: all but the final block, and with an xorend also not the block where the xorend starts.
    /// </summary>
    internal static int CmacDirectLength(int length, bool hasXorEnd) =>
        hasXorEnd ? (length - BlockSize) & ~(BlockSize - 1) : length == 0 ? 0 : (length - 1) & ~(BlockSize - 1);

    /// <summary>CBC-MAC of whole <paramref name="blocks"/> continuing from the chaining value <paramref name="x"/>.</summary>
    internal static Vector128<byte> CbcMac(ref readonly AesNiKey key, Vector128<byte> x, ReadOnlySpan<byte> blocks)
    {
        for (int offset = 0; offset < blocks.Length; offset += BlockSize)
        {
            x = key.Encrypt(x ^ Load(blocks, offset));
        }

        return x;
    }

    /// <summary>
    /// Three independent CBC-MAC chains over whole blocks, advanced in lockstep: one chain is bound by the
    /// AES latency (4 cycles a round), so the rounds of the other two fill the pipeline for free. Chains
    /// that run out of blocks go on encrypting a throw-away value; the branches depend on lengths only.
    /// </summary>
    internal static void CbcMac3(
        ref readonly AesNiKey key,
        ref Vector128<byte> x0,
        ReadOnlySpan<byte> blocks0,
        ref Vector128<byte> x1,
        ReadOnlySpan<byte> blocks1,
        ref Vector128<byte> x2,
        ReadOnlySpan<byte> blocks2)
    {
        Vector128<byte> a = x0;
        Vector128<byte> b = x1;
        Vector128<byte> c = x2;
        int end = Math.Max(blocks0.Length, Math.Max(blocks1.Length, blocks2.Length));
        for (int offset = 0; offset < end; offset += BlockSize)
        {
            Vector128<byte> ia = offset < blocks0.Length ? a ^ Load(blocks0, offset) : a;
            Vector128<byte> ib = offset < blocks1.Length ? b ^ Load(blocks1, offset) : b;
            Vector128<byte> ic = offset < blocks2.Length ? c ^ Load(blocks2, offset) : c;
            Vector128<byte> unused = Vector128<byte>.Zero;
            key.Encrypt4(ref ia, ref ib, ref ic, ref unused);
            if (offset < blocks0.Length)
            {
                a = ia;
            }

            if (offset < blocks1.Length)
            {
                b = ib;
            }

            if (offset < blocks2.Length)
            {
                c = ic;
            }
        }

        x0 = a;
        x1 = b;
        x2 = c;
    }

    /// <summary>
    /// The end of <see cref="Cmac"/>: the chaining value <paramref name="x"/> covers the first
    /// <paramref name="direct"/> bytes (<see cref="CmacDirectLength"/>); the one or two blocks left get the
    /// 10^i padding, the xorend and the subkey in registers.
    /// </summary>
    internal static Vector128<byte> CmacFinish(ref readonly AesNiKey key, Vector128<byte> k1, Vector128<byte> k2, Vector128<byte> x, ReadOnlySpan<byte> message, int direct, Vector128<byte> xorEnd, bool hasXorEnd)
    {
        int length = message.Length;
        int lastStart = length == 0 ? 0 : (length - 1) & ~(BlockSize - 1);
        int partial = length % BlockSize;
        bool complete = length != 0 && partial == 0;
        Vector128<byte> first;
        Vector128<byte> second = Vector128<byte>.Zero;
        if (length >= BlockSize)
        {
            // The message's last 16 bytes, loaded in bounds; a partial final block is slid down from them
            // with PSHUFB and padded from a table, both indexed by the length only: no copy through memory.
            Vector128<byte> end = Load(message, length - BlockSize);
            Vector128<byte> last = complete
                ? end
                : Ssse3.Shuffle(end, Load(XorEndWindow, (2 * BlockSize) - partial)) | Load(PadWindow, BlockSize - partial);
            if (lastStart == direct)
            {
                first = last;
            }
            else
            {
                first = Load(message, direct);
                second = last;
            }
        }
        else
        {
            // Shorter than a block (never with an xorend): one padded block, a constant when empty (S2V's empty
            // associated data in a cookie).
            first = length == 0 ? PaddedEmptyBlock : LoadPadded(message);
        }

        if (hasXorEnd)
        {
            // The last 16 bytes start `partial` bytes into the first block: D's bytes slide into place with
            // PSHUFB (index 0x80 gives 0) rather than through memory, which would stall store forwarding on
            // the chain's critical path.
            first ^= Ssse3.Shuffle(xorEnd, Load(XorEndWindow, BlockSize - partial));
            second ^= Ssse3.Shuffle(xorEnd, Load(XorEndWindow, (2 * BlockSize) - partial));
        }

        Vector128<byte> subkey = complete ? k1 : k2;
        if (lastStart == direct)
        {
            return key.Encrypt(x ^ first ^ subkey);
        }

        x = key.Encrypt(x ^ first);
        return key.Encrypt(x ^ second ^ subkey);
    }

    /// <summary>RFC 4493 §2.4's padding of the empty string: 0x80, then zeros.</summary>
    internal static Vector128<byte> PaddedEmptyBlock => Load(PadWindow, BlockSize);

    /// <summary>
    /// <paramref name="message"/> (shorter than a block) padded with 10^i into one block (RFC 4493 §2.4). Through a
    /// stack copy, in a method of its own so that its stack buffer does not weigh on its callers' frames.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static Vector128<byte> LoadPadded(ReadOnlySpan<byte> message)
    {
        Span<byte> block = stackalloc byte[BlockSize];
        block.Clear();
        message.CopyTo(block);
        block[message.Length] = 0x80;
        Vector128<byte> padded = Load(block, 0);

        // It held message bytes: do not leave them on the stack.
        block.Clear();
        return padded;
    }

    /// <summary>Doubling in GF(2^128) (RFC 5297 §2.3, RFC 4493 §2.3), without a branch on the value.</summary>
    /// <remarks>
    /// In vector registers: the block, a big-endian 128-bit number, is byte-reversed so that its low and high
    /// halves are the two 64-bit lanes, each lane shifts by one with the low lane's top bit carried into the high
    /// lane, and the high lane's top bit selects R_b (0x87) into the low byte; then reversed back. A trip through
    /// the general registers costs more, and this sits on the S2V critical path.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> Dbl(Vector128<byte> value)
    {
        Vector128<byte> reverse = Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        Vector128<ulong> x = Ssse3.Shuffle(value, reverse).AsUInt64();
        Vector128<ulong> tops = Sse2.ShiftRightLogical(x, 63);
        Vector128<ulong> shifted = Sse2.ShiftLeftLogical(x, 1) | Sse2.ShiftLeftLogical128BitLane(tops.AsByte(), 8).AsUInt64();
        Vector128<ulong> msb = Sse2.ShiftRightLogical128BitLane(tops.AsByte(), 8).AsUInt64();
        Vector128<ulong> reduction = (Vector128<ulong>.Zero - msb) & Vector128.Create(0x87ul, 0ul);
        return Ssse3.Shuffle((shifted ^ reduction).AsByte(), reverse);
    }

    /// <summary>How a CTR mode forms its counter blocks (RFC 5297 §2.5 and RFC 8452 §4 differ).</summary>
    internal interface ICounterBlocks
    {
        /// <summary>The counter block <paramref name="index"/> blocks after the initial one.</summary>
        Vector128<byte> Block(uint index);
    }
}

/// <summary>The expanded round keys of one AES key: up to 15 for AES-256 (FIPS-197 §5.2).</summary>
[InlineArray(AesNiKey.MaxRoundKeys)]
internal struct AesRoundKeys
{
    private Vector128<byte> _element;
}

/// <summary>
/// One AES encryption key schedule (FIPS-197 §5.2) for <see cref="AesNi"/>. A struct so that callers keep it
/// where they choose: in a pinned array for a long-lived key, on the stack for a per-message key. Call
/// <see cref="Clear"/> to wipe it.
/// </summary>
internal struct AesNiKey
{
    /// <summary>Round keys of the longest schedule (AES-256: Nr + 1).</summary>
    internal const int MaxRoundKeys = 15;

    private AesRoundKeys _roundKeys;
    private int _rounds;

    /// <summary>Nr: 10, 12 or 14 for a 16, 24 or 32-byte key; 0 before <see cref="Expand"/>.</summary>
    internal readonly int Rounds => _rounds;

    /// <summary>Expands a 16, 24 or 32-byte AES key into the round keys, replacing any previous schedule.</summary>
    internal void Expand(ReadOnlySpan<byte> key)
    {
        switch (key.Length)
        {
            case 16:
                Expand128(key);
                break;
            case 24:
                Expand192(key);
                break;
            case 32:
                Expand256(key);
                break;
            default:
                throw new ArgumentException($"an AES key is 16, 24 or 32 bytes, got {key.Length}", nameof(key));
        }
    }

    /// <summary>
    /// The round keys as a span. Every access goes through here rather than the inline array's indexer or span
    /// conversion: those are the compiler's generic <c>InlineArrayElementRef</c> helpers, which NativeAOT does not
    /// inline, so each AES round became a call with the state spilled to the stack around it (on the NTS server
    /// path, over a quarter of the AES time). With the length a constant, constant indices need no bounds check.
    /// </summary>
    private readonly ReadOnlySpan<Vector128<byte>> Keys
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<AesRoundKeys, Vector128<byte>>(ref Unsafe.AsRef(in _roundKeys)), MaxRoundKeys);
    }

    /// <summary>The round keys to write, as <see cref="Keys"/>.</summary>
    private Span<Vector128<byte>> WritableKeys
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => MemoryMarshal.CreateSpan(ref Unsafe.As<AesRoundKeys, Vector128<byte>>(ref _roundKeys), MaxRoundKeys);
    }

    /// <summary>Zeroes the round keys.</summary>
    internal void Clear()
    {
        WritableKeys.Clear();
        _rounds = 0;
    }

    /// <summary>Round key <paramref name="round"/>, for the FIPS-197 Appendix A tests.</summary>
    internal readonly Vector128<byte> RoundKey(int round) => Keys[..(_rounds + 1)][round];

    /// <summary>Encrypts one block (FIPS-197 §5.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector128<byte> Encrypt(Vector128<byte> block)
    {
        // Rounds 1-9 are common to every key size; the branches depend on the key length only.
        ReadOnlySpan<Vector128<byte>> keys = Keys;
        Vector128<byte> x = block ^ keys[0];
        x = X86Aes.Encrypt(x, keys[1]);
        x = X86Aes.Encrypt(x, keys[2]);
        x = X86Aes.Encrypt(x, keys[3]);
        x = X86Aes.Encrypt(x, keys[4]);
        x = X86Aes.Encrypt(x, keys[5]);
        x = X86Aes.Encrypt(x, keys[6]);
        x = X86Aes.Encrypt(x, keys[7]);
        x = X86Aes.Encrypt(x, keys[8]);
        x = X86Aes.Encrypt(x, keys[9]);
        if (_rounds == 10)
        {
            return X86Aes.EncryptLast(x, keys[10]);
        }

        x = X86Aes.Encrypt(x, keys[10]);
        x = X86Aes.Encrypt(x, keys[11]);
        if (_rounds == 12)
        {
            return X86Aes.EncryptLast(x, keys[12]);
        }

        x = X86Aes.Encrypt(x, keys[12]);
        x = X86Aes.Encrypt(x, keys[13]);
        return X86Aes.EncryptLast(x, keys[14]);
    }

    /// <summary>Encrypts <paramref name="input"/>'s first block into <paramref name="output"/>'s first 16 bytes.</summary>
    internal readonly void Encrypt(ReadOnlySpan<byte> input, Span<byte> output) =>
        Encrypt(AesNi.Load(input, 0)).CopyTo(output);

    /// <summary>Encrypts four independent blocks in place, interleaved so their rounds overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly void Encrypt4(ref Vector128<byte> b0, ref Vector128<byte> b1, ref Vector128<byte> b2, ref Vector128<byte> b3)
    {
        ReadOnlySpan<Vector128<byte>> keys = Keys;
        Vector128<byte> k = keys[0];
        Vector128<byte> x0 = b0 ^ k;
        Vector128<byte> x1 = b1 ^ k;
        Vector128<byte> x2 = b2 ^ k;
        Vector128<byte> x3 = b3 ^ k;
        int rounds = _rounds;
        for (int round = 1; round < rounds; round++)
        {
            k = keys[round];
            x0 = X86Aes.Encrypt(x0, k);
            x1 = X86Aes.Encrypt(x1, k);
            x2 = X86Aes.Encrypt(x2, k);
            x3 = X86Aes.Encrypt(x3, k);
        }

        k = keys[rounds];
        b0 = X86Aes.EncryptLast(x0, k);
        b1 = X86Aes.EncryptLast(x1, k);
        b2 = X86Aes.EncryptLast(x2, k);
        b3 = X86Aes.EncryptLast(x3, k);
    }

    /// <summary>
    /// w[i-Nk] ⊕ w[i-Nk+1] ⊕ ... for each of the four words of <paramref name="previous"/>: the running XOR
    /// that FIPS-197 §5.2 builds one word at a time, done with two lane shifts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> PrefixXor(Vector128<byte> previous)
    {
        // Two doublings of the span (w0, w0^w1, w1^w2, w2^w3, then the pairs): four dependent operations, not six.
        previous ^= Sse2.ShiftLeftLogical128BitLane(previous, 4);
        return previous ^ Sse2.ShiftLeftLogical128BitLane(previous, 8);
    }

    /// <summary>
    /// Broadcast of RotWord(SubWord(w)) ⊕ Rcon for the last word w of <paramref name="previous"/>.
    /// AESKEYGENASSIST runs with a constant 0 immediate (an immediate from a variable would make the JIT emit
    /// a jump table), and Rcon is XORed here instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> RotSubLastWord(Vector128<byte> previous, byte rcon)
    {
        Vector128<int> assisted = X86Aes.KeygenAssist(previous, 0).AsInt32();
        return (Sse2.Shuffle(assisted, 0xff) ^ Vector128.Create((int)rcon)).AsByte();
    }

    /// <summary>Broadcast of SubWord(w) for the last word w of <paramref name="previous"/> (AES-256's middle step).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> SubLastWord(Vector128<byte> previous) =>
        Sse2.Shuffle(X86Aes.KeygenAssist(previous, 0).AsInt32(), 0xaa).AsByte();

    private void Expand128(ReadOnlySpan<byte> key)
    {
        _rounds = 10;
        Span<Vector128<byte>> roundKeys = WritableKeys;
        Vector128<byte> k = AesNi.Load(key, 0);
        roundKeys[0] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x01);
        roundKeys[1] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x02);
        roundKeys[2] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x04);
        roundKeys[3] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x08);
        roundKeys[4] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x10);
        roundKeys[5] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x20);
        roundKeys[6] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x40);
        roundKeys[7] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x80);
        roundKeys[8] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x1b);
        roundKeys[9] = k;
        k = PrefixXor(k) ^ RotSubLastWord(k, 0x36);
        roundKeys[10] = k;
        roundKeys[11..].Clear();
    }

    private void Expand256(ReadOnlySpan<byte> key)
    {
        _rounds = 14;
        Span<Vector128<byte>> roundKeys = WritableKeys;
        Vector128<byte> even = AesNi.Load(key, 0);
        Vector128<byte> odd = AesNi.Load(key, 16);
        roundKeys[0] = even;
        roundKeys[1] = odd;

        // FIPS-197 §5.2 with Nk = 8: words 8j get RotWord/SubWord/Rcon of word 8j-1, words 8j+4 SubWord
        // alone of word 8j+3.
        ReadOnlySpan<byte> rcon = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40];
        for (int i = 0; i < 6; i++)
        {
            even = PrefixXor(even) ^ RotSubLastWord(odd, rcon[i]);
            roundKeys[2 * i + 2] = even;
            odd = PrefixXor(odd) ^ SubLastWord(even);
            roundKeys[2 * i + 3] = odd;
        }

        roundKeys[14] = PrefixXor(even) ^ RotSubLastWord(odd, rcon[6]);
    }

    /// <summary>
    /// AES-192 (Nk = 6): round keys straddle the six-word key blocks, so this follows FIPS-197 §5.2 word by
    /// word, with SubWord from AESKEYGENASSIST. Not on a hot path (AEAD 16 is rarely negotiated).
    /// </summary>
    private void Expand192(ReadOnlySpan<byte> key)
    {
        const int Nk = 6;
        const int Words = 4 * (12 + 1);
        _rounds = 12;
        Span<uint> w = stackalloc uint[Words];
        for (int i = 0; i < Nk; i++)
        {
            // Little-endian: the word's bytes keep their memory order inside the vector lane.
            w[i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(4 * i)..]);
        }

        uint rcon = 1;
        for (int i = Nk; i < Words; i++)
        {
            uint temp = w[i - 1];
            if (i % Nk == 0)
            {
                // RotWord is a rotation by one byte towards the front of the word: right, in little-endian.
                temp = SubWord(uint.RotateRight(temp, 8)) ^ rcon;
                rcon = (rcon << 1) ^ ((rcon >> 7) * 0x11b);
            }

            w[i] = w[i - Nk] ^ temp;
        }

        Span<Vector128<byte>> roundKeys = WritableKeys;
        for (int round = 0; round <= 12; round++)
        {
            roundKeys[round] = Vector128.Create((ReadOnlySpan<uint>)w.Slice(4 * round, 4)).AsByte();
        }

        roundKeys[13..].Clear();
        w.Clear();
    }

    /// <summary>FIPS-197 SubWord through the AES S-box in AESKEYGENASSIST (its lane 0 is SubWord of lane 1).</summary>
    private static uint SubWord(uint word) =>
        X86Aes.KeygenAssist(Vector128.Create(0u, word, 0u, 0u).AsByte(), 0).AsUInt32().GetElement(0);
}

/// <summary>
/// A pinned home for long-lived <see cref="AesNiKey"/> schedules: pinned so that the GC never copies round
/// keys to a new address and leaves the old bytes behind, and cleared by <see cref="Clear"/>.
/// </summary>
internal static class AesNiKeys
{
    /// <summary>Allocates <paramref name="count"/> empty schedules on the pinned object heap.</summary>
    internal static AesNiKey[] Allocate(int count) => GC.AllocateArray<AesNiKey>(count, pinned: true);

    /// <summary>Wipes every schedule in <paramref name="keys"/>.</summary>
    internal static void Clear(AesNiKey[] keys)
    {
        foreach (ref AesNiKey key in keys.AsSpan())
        {
            key.Clear();
        }
    }
}
