using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Tempus.Crypto;

/// <summary>
/// POLYVAL (RFC 8452 §3), the universal hash of AES-GCM-SIV: S_j = dot(S_{j-1} ⊕ X_j, H) with
/// dot(a, b) = a·b·x^-128 in GF(2^128) modulo x^128 + x^127 + x^126 + x^121 + 1, blocks read little-endian.
/// </summary>
/// <remarks>
/// With PCLMULQDQ the product is three carry-less multiplies (Karatsuba) and the reduction two more by the
/// constant 0xc2000000_00000000, the folding of Gueron and Lindell's reference code; four blocks are
/// multiplied by H^4..H^1 and summed before one reduction, which keeps the multiplier busy. Without it (old
/// x86, the Raspberry Pi 4) a constant-time software multiply does the same arithmetic with 64-bit integer
/// multiplies: no table lookups indexed by secret data, no branches on it.
/// </remarks>
internal static class Polyval
{
    /// <summary>The low 64 bits of x^-128's reduction constant: x^127 + x^126 + x^121 seen from the low end.</summary>
    private const ulong ReductionConstant = 0xc200000000000000UL;

    /// <summary>Whether the PCLMULQDQ path can run here.</summary>
    internal static bool IsHardwareAccelerated => Pclmulqdq.IsSupported;

    /// <summary>
    /// RFC 8452 §4: S_s = POLYVAL(H, pad(AD) || pad(P) || LE64(bitlen(AD)) || LE64(bitlen(P))) into
    /// <paramref name="result"/> (16 bytes).
    /// </summary>
    /// <param name="h">The 16-byte message-authentication key.</param>
    /// <param name="associatedData">The additional data, zero-padded to whole blocks here.</param>
    /// <param name="plaintext">The plaintext, zero-padded to whole blocks here.</param>
    /// <param name="result">Receives the 16-byte hash.</param>
    /// <param name="useHardware">PCLMULQDQ when it is supported; <see langword="false"/> forces the software path (tests).</param>
    internal static void HashGcmSiv(ReadOnlySpan<byte> h, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> result, bool useHardware = true)
    {
        Span<byte> lengths = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(lengths, (ulong)associatedData.Length * 8);
        BinaryPrimitives.WriteUInt64LittleEndian(lengths[8..], (ulong)plaintext.Length * 8);
        if (useHardware && Pclmulqdq.IsSupported)
        {
            Vector128<ulong> key = Vector128.Create(h[..16]).AsUInt64();
            Powers powers = Powers.Create(key);
            Vector128<ulong> s = Vector128<ulong>.Zero;
            s = UpdateHardware(s, powers, associatedData);
            s = UpdateHardware(s, powers, plaintext);
            s = Dot(s ^ Vector128.Create((ReadOnlySpan<byte>)lengths).AsUInt64(), key);
            s.AsByte().CopyTo(result);
        }
        else
        {
            ulong h0 = BinaryPrimitives.ReadUInt64LittleEndian(h);
            ulong h1 = BinaryPrimitives.ReadUInt64LittleEndian(h[8..]);
            ulong s0 = 0;
            ulong s1 = 0;
            UpdateSoftware(ref s0, ref s1, h0, h1, associatedData);
            UpdateSoftware(ref s0, ref s1, h0, h1, plaintext);
            UpdateSoftware(ref s0, ref s1, h0, h1, lengths);
            BinaryPrimitives.WriteUInt64LittleEndian(result, s0);
            BinaryPrimitives.WriteUInt64LittleEndian(result[8..], s1);
        }
    }

    /// <summary>POLYVAL(H, X_1, ..., X_n) of whole blocks, for the RFC 8452 Appendix A example.</summary>
    internal static void Hash(ReadOnlySpan<byte> h, ReadOnlySpan<byte> blocks, Span<byte> result, bool useHardware = true)
    {
        if (blocks.Length % 16 != 0)
        {
            throw new ArgumentException("POLYVAL input must be whole 16-byte blocks", nameof(blocks));
        }

        if (useHardware && Pclmulqdq.IsSupported)
        {
            Vector128<ulong> key = Vector128.Create(h[..16]).AsUInt64();
            UpdateHardware(Vector128<ulong>.Zero, Powers.Create(key), blocks).AsByte().CopyTo(result);
        }
        else
        {
            ulong s0 = 0;
            ulong s1 = 0;
            UpdateSoftware(ref s0, ref s1, BinaryPrimitives.ReadUInt64LittleEndian(h), BinaryPrimitives.ReadUInt64LittleEndian(h[8..]), blocks);
            BinaryPrimitives.WriteUInt64LittleEndian(result, s0);
            BinaryPrimitives.WriteUInt64LittleEndian(result[8..], s1);
        }
    }

    /// <summary>Absorbs <paramref name="data"/>, the last block zero-padded.</summary>
    private static Vector128<ulong> UpdateHardware(Vector128<ulong> s, in Powers powers, ReadOnlySpan<byte> data)
    {
        // Four blocks at a time: S' = (S ⊕ X1)·H^4 ⊕ X2·H^3 ⊕ X3·H^2 ⊕ X4·H, one reduction for the four.
        while (data.Length >= 64)
        {
            Vector128<ulong> x1 = s ^ Vector128.Create(data[..16]).AsUInt64();
            Vector128<ulong> x2 = Vector128.Create(data.Slice(16, 16)).AsUInt64();
            Vector128<ulong> x3 = Vector128.Create(data.Slice(32, 16)).AsUInt64();
            Vector128<ulong> x4 = Vector128.Create(data.Slice(48, 16)).AsUInt64();
            MultiplyUnreduced(x1, powers.H4, out Vector128<ulong> lo, out Vector128<ulong> mid, out Vector128<ulong> hi);
            Accumulate(x2, powers.H3, ref lo, ref mid, ref hi);
            Accumulate(x3, powers.H2, ref lo, ref mid, ref hi);
            Accumulate(x4, powers.H1, ref lo, ref mid, ref hi);
            s = Reduce(lo, mid, hi);
            data = data[64..];
        }

        while (data.Length >= 16)
        {
            s = Dot(s ^ Vector128.Create(data[..16]).AsUInt64(), powers.H1);
            data = data[16..];
        }

        if (!data.IsEmpty)
        {
            Span<byte> last = stackalloc byte[16];
            last.Clear();
            data.CopyTo(last);
            s = Dot(s ^ Vector128.Create((ReadOnlySpan<byte>)last).AsUInt64(), powers.H1);
        }

        return s;
    }

    /// <summary>dot(a, b) = a·b·x^-128 (RFC 8452 §3) with PCLMULQDQ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Dot(Vector128<ulong> a, Vector128<ulong> b)
    {
        MultiplyUnreduced(a, b, out Vector128<ulong> lo, out Vector128<ulong> mid, out Vector128<ulong> hi);
        return Reduce(lo, mid, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyUnreduced(Vector128<ulong> a, Vector128<ulong> b, out Vector128<ulong> lo, out Vector128<ulong> mid, out Vector128<ulong> hi)
    {
        lo = Pclmulqdq.CarrylessMultiply(a, b, 0x00);
        hi = Pclmulqdq.CarrylessMultiply(a, b, 0x11);
        mid = Pclmulqdq.CarrylessMultiply(a, b, 0x10) ^ Pclmulqdq.CarrylessMultiply(a, b, 0x01);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(Vector128<ulong> a, Vector128<ulong> b, ref Vector128<ulong> lo, ref Vector128<ulong> mid, ref Vector128<ulong> hi)
    {
        lo ^= Pclmulqdq.CarrylessMultiply(a, b, 0x00);
        hi ^= Pclmulqdq.CarrylessMultiply(a, b, 0x11);
        mid ^= Pclmulqdq.CarrylessMultiply(a, b, 0x10) ^ Pclmulqdq.CarrylessMultiply(a, b, 0x01);
    }

    /// <summary>Reduces the 256-bit product hi:mid:lo and multiplies by x^-128: two folds by the constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Reduce(Vector128<ulong> lo, Vector128<ulong> mid, Vector128<ulong> hi)
    {
        Vector128<ulong> poly = Vector128.Create(1UL, ReductionConstant);
        lo ^= Sse2.ShiftLeftLogical128BitLane(mid, 8);
        hi ^= Sse2.ShiftRightLogical128BitLane(mid, 8);

        // Each fold: lo = swap64(lo) ⊕ clmul(lo.low, 0xc2..00); after two, lo holds lo·x^-128 mod P.
        lo = Pclmulqdq.CarrylessMultiply(lo, poly, 0x10) ^ Sse2.Shuffle(lo.AsUInt32(), 0x4e).AsUInt64();
        lo = Pclmulqdq.CarrylessMultiply(lo, poly, 0x10) ^ Sse2.Shuffle(lo.AsUInt32(), 0x4e).AsUInt64();
        return hi ^ lo;
    }

    /// <summary>Absorbs <paramref name="data"/> (the last block zero-padded) with the software multiply.</summary>
    private static void UpdateSoftware(ref ulong s0, ref ulong s1, ulong h0, ulong h1, ReadOnlySpan<byte> data)
    {
        Span<byte> last = stackalloc byte[16];
        while (!data.IsEmpty)
        {
            scoped ReadOnlySpan<byte> block;
            if (data.Length >= 16)
            {
                block = data[..16];
                data = data[16..];
            }
            else
            {
                last.Clear();
                data.CopyTo(last);
                block = last;
                data = default;
            }

            s0 ^= BinaryPrimitives.ReadUInt64LittleEndian(block);
            s1 ^= BinaryPrimitives.ReadUInt64LittleEndian(block[8..]);
            DotSoftware(ref s0, ref s1, h0, h1);
        }
    }

    /// <summary>(s1:s0) = dot((s1:s0), (h1:h0)), the same Karatsuba product and folds as the PCLMULQDQ path.</summary>
    internal static void DotSoftware(ref ulong s0, ref ulong s1, ulong h0, ulong h1)
    {
        ClMul(s0, h0, out ulong z0Lo, out ulong z0Hi);
        ClMul(s1, h1, out ulong z2Lo, out ulong z2Hi);
        ClMul(s0 ^ s1, h0 ^ h1, out ulong z1Lo, out ulong z1Hi);
        z1Lo ^= z0Lo ^ z2Lo;
        z1Hi ^= z0Hi ^ z2Hi;
        ulong p0 = z0Lo;
        ulong p1 = z0Hi ^ z1Lo;
        ulong p2 = z2Lo ^ z1Hi;
        ulong p3 = z2Hi;

        // Two folds; clmul(a, 0xc2 << 56) = a·(x^63 + x^62 + x^57).
        ulong t0 = (p0 << 63) ^ (p0 << 62) ^ (p0 << 57);
        ulong t1 = (p0 >> 1) ^ (p0 >> 2) ^ (p0 >> 7);
        ulong l0 = p1 ^ t0;
        ulong l1 = p0 ^ t1;
        t0 = (l0 << 63) ^ (l0 << 62) ^ (l0 << 57);
        t1 = (l0 >> 1) ^ (l0 >> 2) ^ (l0 >> 7);
        s0 = p2 ^ l1 ^ t0;
        s1 = p3 ^ l0 ^ t1;
    }

    /// <summary>Constant-time 64×64 → 128-bit carry-less multiply.</summary>
    private static void ClMul(ulong x, ulong y, out ulong lo, out ulong hi)
    {
        lo = ClMulLow(x, y);

        // The high half is the low half of the product of the bit-reversed operands, reversed back
        // (the 127-bit product reverses as a whole); one more shift drops bit 63, already in lo.
        hi = ReverseBits(ClMulLow(ReverseBits(x), ReverseBits(y))) >> 1;
    }

    /// <summary>
    /// The low 64 bits of the carry-less product, with integer multiplies on operands thinned to every
    /// fourth bit: each 4-bit digit of such a product counts at most 15 terms below bit 60 (16 only in
    /// the top digit, whose carry leaves the word), so its low bit is the XOR of the terms.
    /// </summary>
    private static ulong ClMulLow(ulong x, ulong y)
    {
        const ulong M0 = 0x1111111111111111UL;
        const ulong M1 = 0x2222222222222222UL;
        const ulong M2 = 0x4444444444444444UL;
        const ulong M3 = 0x8888888888888888UL;
        ulong x0 = x & M0;
        ulong x1 = x & M1;
        ulong x2 = x & M2;
        ulong x3 = x & M3;
        ulong y0 = y & M0;
        ulong y1 = y & M1;
        ulong y2 = y & M2;
        ulong y3 = y & M3;
        ulong z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
        ulong z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
        ulong z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
        ulong z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
        return (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
    }

    private static ulong ReverseBits(ulong x)
    {
        x = ((x & 0x5555555555555555UL) << 1) | ((x >> 1) & 0x5555555555555555UL);
        x = ((x & 0x3333333333333333UL) << 2) | ((x >> 2) & 0x3333333333333333UL);
        x = ((x & 0x0F0F0F0F0F0F0F0FUL) << 4) | ((x >> 4) & 0x0F0F0F0F0F0F0F0FUL);
        return BinaryPrimitives.ReverseEndianness(x);
    }

    /// <summary>H, H^2, H^3, H^4 in POLYVAL's field (each power includes the x^-128 factor of dot).</summary>
    private readonly struct Powers
    {
        private Powers(Vector128<ulong> h1, Vector128<ulong> h2, Vector128<ulong> h3, Vector128<ulong> h4)
        {
            H1 = h1;
            H2 = h2;
            H3 = h3;
            H4 = h4;
        }

        public Vector128<ulong> H1 { get; }

        public Vector128<ulong> H2 { get; }

        public Vector128<ulong> H3 { get; }

        public Vector128<ulong> H4 { get; }

        // dot(dot(a, H), H) = a·H^2·x^-256 = dot(a, dot(H, H)): "H^k" here means dot applied k-1 times.
        public static Powers Create(Vector128<ulong> h)
        {
            Vector128<ulong> h2 = Dot(h, h);
            Vector128<ulong> h3 = Dot(h2, h);
            return new Powers(h, h2, h3, Dot(h3, h));
        }
    }
}
