using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Tempus.Native;
using Tempus.Protocol;

namespace Tempus.Crypto;

/// <summary>
/// AES-SIV (RFC 5297): AEAD_AES_SIV_CMAC_256, _384 and _512, NTS AEAD ids 15, 16 and 17. On a CPU with
/// AES-NI, AES runs on <see cref="AesNi"/>: K1 (the first half of the key) and K2 (the second) are expanded
/// into two pinned key schedules, S2V's CMACs chain straight over the caller's spans, and CTR encrypts four
/// counter blocks at a time. Without AES-NI, S2V runs its CMACs through one OpenSSL AES-CBC context keyed
/// with K1 and the CTR keystream comes from one OpenSSL AES-ECB context keyed with K2.
/// </summary>
/// <remarks>
/// <para>
/// Why AES-NI rather than OpenSSL's EVP contexts: an NTS request re-keys twice (C2S and S2C keys from the
/// cookie), and an EVP re-key is a full EVP_EncryptInit_ex per context; a key expansion with
/// AESKEYGENASSIST is a few dozen instructions. Measured on 200 bytes of associated data and 100 of
/// plaintext (2-core AMD EPYC VM with AVX-512 and VAES, .NET 10.0.12, OpenSSL 3.0.19; best of 400 windows
/// of 200 calls), SetKey / seal / open: AEAD 15 on AES-NI 49 / 308 / 347 ns, on OpenSSL 358 / 418 / 456 ns;
/// AEAD 17 on AES-NI 64 / 386 / 436 ns, on OpenSSL 370 / 508 / 548 ns. A request's whole AEAD work
/// (re-key, open, re-key, seal; AesSivPathBenchmarks, BenchmarkDotNet short run on the loaded machine)
/// took 1.41 µs against 3.11 µs for AEAD 15 and 1.88 µs against 3.37 µs for AEAD 17. Neither path allocates.
/// </para>
/// <para>
/// Those figures are from the JIT, which compiles this code well; tempusd ships NativeAOT, which did not until the
/// AES-NI code was written for it (round keys read through one span rather than an inline array's indexer, no
/// stackalloc in the per-request methods, the tail of CTR and dbl() in vector registers): the whole NTS server path
/// (NtpServerEngine.Process on one 232-byte AEAD 15 request, NativeAOT, thread CPU time) went from 2051-2062 ns to
/// 1024-1033 ns, and the server benchmark's CPU per NTS request from 5.96-6.73 µs to 5.12-5.51 µs. Measure changes
/// here on a NativeAOT build.
/// </para>
/// <para>
/// What is left is AES latency: a CMAC chain cannot be parallelised, and one AES-128 block costs 11 ns
/// (10 rounds of 4 cycles) on that machine. On the AES-NI path S2V runs its three CMAC chains (associated
/// data, nonce, and the plaintext up to its last 16 bytes) in lockstep, so a seal's critical path is the
/// 13 blocks of associated data plus three, not all 21 blocks one after the other.
/// </para>
/// <para>
/// Why not OpenSSL's own "AES-128-SIV" EVP cipher: on OpenSSL 3.0 it must be re-keyed for every message
/// (re-initialising without a key leaves the previous S2V state behind), it drops empty associated-data
/// components and cannot seal an empty plaintext (an NTS request usually has none), and where it works it
/// is far slower (3.2 / 3.1 µs seal / open for AEAD 15 and 3.3 / 3.3 µs for AEAD 17, AeadBenchmarks).
/// </para>
/// <para>
/// The OpenSSL path (CPUs without AES-NI) never resets the CBC context's IV, which in OpenSSL 3 is a full
/// EVP_EncryptInit_ex call: the context's IV after each CMAC is that CMAC's last output block, kept in the
/// chaining value, and the next CMAC XORs it into its first block, which cancels it (CBC computes
/// E(M1 ⊕ IV)). Each CMAC is then one EVP_EncryptUpdate over a copy of the message in the scratch buffer
/// with the RFC 4493 padding and subkey already applied. CTR is built over ECB for the same reason: setting
/// the IV of an OpenSSL CTR context costs more than encrypting an NTS message (107 ns, against 23 ns for a
/// four-block ECB update).
/// </para>
/// </remarks>
internal sealed class AesSiv : NtsAead
{
    /// <summary>RFC 5297 §2.4/§7: S2V takes at most 126 associated-data components before the plaintext.</summary>
    internal const int MaxAssociatedDataComponents = 126;

    private const int BlockSize = 16;

    // Bytes of message per EVP_EncryptUpdate in the CMAC chain: NTS associated data (the packet up to the
    // authenticator) fits in one run up to this size.
    private const int ScratchSize = 1536;

    // RFC 4493 §2.3 / RFC 5297 §2.3: R_b for doubling in GF(2^128).
    private const byte Rb = 0x87;

    // _state layout: CMAC subkeys K1 and K2 (RFC 4493 §2.3), D0 = CMAC(0^128) (the fixed first S2V
    // step, RFC 5297 §2.4), the CBC chaining value (the context's current IV, OpenSSL path) and dbl(D0).
    private const int Subkey1Offset = 0;
    private const int Subkey2Offset = 16;
    private const int D0Offset = 32;
    private const int ChainOffset = 48;

    // The AES-NI path's S2V over (associated data, nonce, plaintext) starts with dbl(D0), a function of the key.
    private const int DblD0Offset = 64;

    private static ReadOnlySpan<byte> ZeroBlock => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    // Index of each half's schedule in _keys (the AES-NI path).
    private const int S2VKey = 0;
    private const int CtrKey = 1;

    // RFC 5297 §2.5: Q = V with bits 63 and 31 (the top bits of bytes 8 and 12) cleared.
    private static ReadOnlySpan<byte> CounterMask => [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff];

    private readonly NtsAeadAlgorithm _algorithm;

    // The AES-NI path: the schedules of K1 (S2V) and K2 (CTR), pinned. Null on the OpenSSL path.
    private readonly AesNiKey[]? _keys;

    // The OpenSSL path: the CBC and ECB contexts and the run buffer. Null on the AES-NI path.
    private readonly SafeEvpCipherCtxHandle? _cbc;
    private readonly SafeEvpCipherCtxHandle? _ecb;
    private readonly byte[]? _scratch;
    private readonly byte[] _state = GC.AllocateArray<byte>(80, pinned: true);

    /// <summary>Expands <paramref name="key"/> (32, 48 or 64 bytes) for <paramref name="algorithm"/>.</summary>
    /// <param name="algorithm">AEAD 15, 16 or 17.</param>
    /// <param name="key">K1 || K2.</param>
    /// <param name="useIntrinsics">
    /// Whether AES runs on AES-NI when the CPU has it; <see langword="false"/> forces the OpenSSL path, which
    /// tests and benchmarks compare against.
    /// </param>
    internal AesSiv(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> key, bool useIntrinsics = true)
    {
        if (algorithm is not (NtsAeadAlgorithm.AesSivCmac256 or NtsAeadAlgorithm.AesSivCmac384 or NtsAeadAlgorithm.AesSivCmac512))
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not an AES-SIV algorithm");
        }

        _algorithm = algorithm;
        CheckKeyLength(key);
        if (useIntrinsics && AesNi.IsSupported)
        {
            _keys = AesNiKeys.Allocate(2);
            SetKeyManaged(key);
            return;
        }

        Interop.Crypto.EnsureSupported();
        (nint cbc, nint ecb) = algorithm switch
        {
            NtsAeadAlgorithm.AesSivCmac256 => (Interop.Crypto.EvpAes128Cbc(), Interop.Crypto.EvpAes128Ecb()),
            NtsAeadAlgorithm.AesSivCmac384 => (Interop.Crypto.EvpAes192Cbc(), Interop.Crypto.EvpAes192Ecb()),
            _ => (Interop.Crypto.EvpAes256Cbc(), Interop.Crypto.EvpAes256Ecb()),
        };

        _scratch = GC.AllocateArray<byte>(ScratchSize, pinned: true);
        int half = key.Length / 2;

        // RFC 5297 §2.6: K1, the leftmost half, keys S2V; K2, the rightmost half, keys CTR.
        _cbc = Interop.Crypto.EvpCipherCreateEncryptor(cbc, key[..half], ZeroBlock);
        try
        {
            _ecb = Interop.Crypto.EvpCipherCreateEncryptor(ecb, key[half..], default);
        }
        catch
        {
            _cbc.Dispose();
            throw;
        }

        DeriveSubkeys();
    }

    /// <inheritdoc/>
    public override NtsAeadAlgorithm Algorithm => _algorithm;

    /// <inheritdoc/>
    public override int NonceLength => 16;

    /// <inheritdoc/>
    public override int MinNonceLength => 1;

    /// <inheritdoc/>
    public override int MaxNonceLength => int.MaxValue;

    /// <summary>Whether this instance runs AES on AES-NI (<see langword="false"/>: through OpenSSL).</summary>
    internal bool UsesIntrinsics => _keys is not null;

    /// <summary>
    /// RFC 5297 §2.6 with a general S2V vector: <paramref name="components"/> are the associated-data strings
    /// in order (the last one is the nonce in nonce-based use, as in §A.2; none at all is allowed), then the
    /// plaintext. Output is V || C.
    /// </summary>
    internal void SealVector(ReadOnlySpan<ReadOnlyMemory<byte>> components, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(components.Length, MaxAssociatedDataComponents, nameof(components));
        ArgumentOutOfRangeException.ThrowIfNotEqual(output.Length, plaintext.Length + TagSize, nameof(output));
        Enter();
        try
        {
            if (_keys is not null)
            {
                Vector128<byte> dManaged = LoadState(D0Offset);
                foreach (ReadOnlyMemory<byte> component in components)
                {
                    dManaged = AesNi.Dbl(dManaged) ^ CmacManaged(component.Span, default, hasXorEnd: false);
                }

                Vector128<byte> vManaged = S2VFinishManaged(dManaged, plaintext);
                vManaged.CopyTo(output);
                CtrManaged(vManaged, plaintext, output[TagSize..]);
                return;
            }

            Span<byte> d = stackalloc byte[BlockSize];
            S2VStart(d);
            foreach (ReadOnlyMemory<byte> component in components)
            {
                S2VAdd(d, component.Span);
            }

            S2VFinish(d, plaintext, output[..TagSize]);
            Ctr(output[..TagSize], plaintext, output[TagSize..]);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>RFC 5297 §2.7 with a general S2V vector; the counterpart of <see cref="SealVector"/>.</summary>
    internal bool TryOpenVector(ReadOnlySpan<ReadOnlyMemory<byte>> components, ReadOnlySpan<byte> input, Span<byte> plaintext)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(components.Length, MaxAssociatedDataComponents, nameof(components));
        ArgumentOutOfRangeException.ThrowIfLessThan(input.Length, TagSize, nameof(input));
        ArgumentOutOfRangeException.ThrowIfNotEqual(plaintext.Length, input.Length - TagSize, nameof(plaintext));
        bool authentic;
        Enter();
        try
        {
            ReadOnlySpan<byte> v = input[..TagSize];
            Span<byte> expected = stackalloc byte[TagSize];
            if (_keys is not null)
            {
                CtrManaged(AesNi.Load(v, 0), input[TagSize..], plaintext);
                Vector128<byte> dManaged = LoadState(D0Offset);
                foreach (ReadOnlyMemory<byte> component in components)
                {
                    dManaged = AesNi.Dbl(dManaged) ^ CmacManaged(component.Span, default, hasXorEnd: false);
                }

                S2VFinishManaged(dManaged, plaintext).CopyTo(expected);
            }
            else
            {
                Ctr(v, input[TagSize..], plaintext);
                Span<byte> d = stackalloc byte[BlockSize];
                S2VStart(d);
                foreach (ReadOnlyMemory<byte> component in components)
                {
                    S2VAdd(d, component.Span);
                }

                S2VFinish(d, plaintext, expected);
            }

            authentic = CryptographicOperations.FixedTimeEquals(expected, v);
        }
        finally
        {
            Exit();
        }

        if (!authentic)
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        return authentic;
    }

    /// <summary>AES-CMAC (RFC 4493) of <paramref name="message"/> under K1, for the RFC 4493 §4 vectors.</summary>
    internal void ComputeCmac(ReadOnlySpan<byte> message, Span<byte> tag)
    {
        Enter();
        try
        {
            if (_keys is not null)
            {
                CmacManaged(message, default, hasXorEnd: false).CopyTo(tag);
            }
            else
            {
                Cmac(message, default, tag[..TagSize]);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc/>
    private protected override void SetKeyCore(ReadOnlySpan<byte> key)
    {
        if (_keys is not null)
        {
            SetKeyManaged(key);
            return;
        }

        int half = key.Length / 2;
        Interop.Crypto.EvpCipherInit(_cbc!, 0, key[..half], ZeroBlock, encrypt: true);
        Interop.Crypto.EvpCipherInit(_ecb!, 0, key[half..], default, encrypt: true);
        DeriveSubkeys();
    }

    /// <inheritdoc/>
    private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertextWithTag)
    {
        // RFC 5297 §3: nonce-based use puts the nonce last among the associated-data components;
        // RFC 8915 §5.6 (and chrony, nettle, ntpd-rs) has one component of associated data before it.
        if (_keys is not null)
        {
            Vector128<byte> v = S2VManaged(associatedData, nonce, plaintext);
            v.CopyTo(ciphertextWithTag);
            CtrManaged(v, plaintext, ciphertextWithTag[TagSize..]);
            return;
        }

        SealOpenSsl(nonce, associatedData, plaintext, ciphertextWithTag);
    }

    /// <inheritdoc/>
    private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag, Span<byte> plaintext)
    {
        // RFC 5297 §2.7: decrypt with the received V as IV, recompute V over the plaintext, compare.
        if (_keys is not null)
        {
            Vector128<byte> v = AesNi.Load(ciphertextWithTag, 0);
            CtrManaged(v, ciphertextWithTag[TagSize..], plaintext);
            return FixedTimeEquals(S2VManaged(associatedData, nonce, plaintext), v);
        }

        return TryOpenOpenSsl(nonce, associatedData, ciphertextWithTag, plaintext);
    }

    /// <summary>
    /// Whether two tags are equal, in constant time: one XOR and one all-zero test over the whole block, with no
    /// branch or early exit on the bytes (as <see cref="CryptographicOperations.FixedTimeEquals"/>, without its call
    /// and span checks on the per-request path).
    /// </summary>
    private static bool FixedTimeEquals(Vector128<byte> expected, Vector128<byte> received) =>
        (expected ^ received) == Vector128<byte>.Zero;

    // The OpenSSL paths live apart from the AES-NI ones: their stackalloc buffers would otherwise give the AES-NI
    // path's frame a stack cookie and zeroing it does not use.
    private void SealOpenSsl(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertextWithTag)
    {
        Span<byte> v = ciphertextWithTag[..TagSize];
        Span<byte> d = stackalloc byte[BlockSize];
        S2VStart(d);
        S2VAdd(d, associatedData);
        S2VAdd(d, nonce);
        S2VFinish(d, plaintext, v);
        Ctr(v, plaintext, ciphertextWithTag[TagSize..]);
    }

    private bool TryOpenOpenSsl(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag, Span<byte> plaintext)
    {
        ReadOnlySpan<byte> v = ciphertextWithTag[..TagSize];
        Span<byte> expected = stackalloc byte[TagSize];
        Ctr(v, ciphertextWithTag[TagSize..], plaintext);
        Span<byte> d = stackalloc byte[BlockSize];
        S2VStart(d);
        S2VAdd(d, associatedData);
        S2VAdd(d, nonce);
        S2VFinish(d, plaintext, expected);
        return CryptographicOperations.FixedTimeEquals(expected, v);
    }

    /// <inheritdoc/>
    private protected override void DisposeCore()
    {
        CryptographicOperations.ZeroMemory(_state);
        if (_keys is not null)
        {
            AesNiKeys.Clear(_keys);
            return;
        }

        CryptographicOperations.ZeroMemory(_scratch);
        _cbc!.Dispose();
        _ecb!.Dispose();
    }

    /// <summary>
    /// The AES-NI key setup: two key expansions, then RFC 4493 §2.3's L = AES-K1(0^128), K1' = dbl(L),
    /// K2' = dbl(K1'), and RFC 5297 §2.4's D0 = AES-CMAC(K1, 0^128), which for a complete zero block is
    /// AES-K1(K1').
    /// </summary>
    private void SetKeyManaged(ReadOnlySpan<byte> key)
    {
        int half = key.Length / 2;
        ref AesNiKey s2v = ref _keys![S2VKey];
        s2v.Expand(key[..half]);
        _keys[CtrKey].Expand(key[half..]);
        Vector128<byte> subkey1 = AesNi.Dbl(s2v.Encrypt(Vector128<byte>.Zero));
        Span<byte> state = _state;
        subkey1.CopyTo(state[Subkey1Offset..]);
        AesNi.Dbl(subkey1).CopyTo(state[Subkey2Offset..]);
        Vector128<byte> d0 = s2v.Encrypt(subkey1);
        d0.CopyTo(state[D0Offset..]);
        AesNi.Dbl(d0).CopyTo(state[DblD0Offset..]);
    }

    private Vector128<byte> LoadState(int offset) => AesNi.Load(_state, offset);

    /// <summary>
    /// RFC 5297 §2.4 S2V over (associated data, nonce, plaintext) on AES-NI: the NTS vector. The three
    /// CMAC chains are independent until their last blocks (only the plaintext's last 16 bytes see D), so
    /// they run in lockstep: an NTS request's S2V takes the latency of its longest chain plus three blocks,
    /// not of all its blocks one after the other.
    /// </summary>
    private Vector128<byte> S2VManaged(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext)
    {
        ref readonly AesNiKey key = ref _keys![S2VKey];
        Vector128<byte> k1 = LoadState(Subkey1Offset);
        Vector128<byte> k2 = LoadState(Subkey2Offset);
        bool plaintextXorEnd = plaintext.Length >= BlockSize;
        int adDirect = AesNi.CmacDirectLength(associatedData.Length, hasXorEnd: false);
        int nonceDirect = AesNi.CmacDirectLength(nonce.Length, hasXorEnd: false);
        int plaintextDirect = plaintextXorEnd ? AesNi.CmacDirectLength(plaintext.Length, hasXorEnd: true) : 0;
        Vector128<byte> ad = Vector128<byte>.Zero;
        Vector128<byte> n = Vector128<byte>.Zero;
        Vector128<byte> p = Vector128<byte>.Zero;
        AesNi.CbcMac3(in key, ref ad, associatedData[..adDirect], ref n, nonce[..nonceDirect], ref p, plaintext[..plaintextDirect]);

        // Adjacent and independent: the out-of-order core overlaps these two final blocks.
        ad = AesNi.CmacFinish(in key, k1, k2, ad, associatedData, adDirect, default, hasXorEnd: false);
        n = AesNi.CmacFinish(in key, k1, k2, n, nonce, nonceDirect, default, hasXorEnd: false);
        Vector128<byte> d = AesNi.Dbl(LoadState(DblD0Offset) ^ ad) ^ n;
        return plaintextXorEnd
            ? AesNi.CmacFinish(in key, k1, k2, p, plaintext, plaintextDirect, d, hasXorEnd: true)
            : S2VFinishManaged(d, plaintext);
    }

    /// <summary>RFC 5297 §2.4: V = AES-CMAC(K, S_n xorend D) or AES-CMAC(K, dbl(D) xor pad(S_n)), on AES-NI.</summary>
    private Vector128<byte> S2VFinishManaged(Vector128<byte> d, ReadOnlySpan<byte> last)
    {
        if (last.Length >= BlockSize)
        {
            return CmacManaged(last, d, hasXorEnd: true);
        }

        // pad(S_n) XOR dbl(D) is one complete block: its CMAC is AES-K1(block XOR K1'). An NTS request's plaintext
        // is usually empty, whose padding is a constant.
        Vector128<byte> padded = last.IsEmpty ? AesNi.PaddedEmptyBlock : AesNi.LoadPadded(last);
        return _keys![S2VKey].Encrypt(padded ^ AesNi.Dbl(d) ^ LoadState(Subkey1Offset));
    }

    private Vector128<byte> CmacManaged(ReadOnlySpan<byte> message, Vector128<byte> xorEnd, bool hasXorEnd) =>
        AesNi.Cmac(in _keys![S2VKey], LoadState(Subkey1Offset), LoadState(Subkey2Offset), message, xorEnd, hasXorEnd);

    /// <summary>RFC 5297 §2.5 on AES-NI: CTR under K2 from Q = V with bits 63 and 31 cleared.</summary>
    private void CtrManaged(Vector128<byte> v, ReadOnlySpan<byte> input, Span<byte> output)
    {
        Vector128<byte> q = v & Vector128.Create(CounterMask);

        // As in Ctr: with bit 31 clear, the low 32 bits cannot carry out before 2^31 blocks.
        AesNi.Ctr(in _keys![CtrKey], input, output, new SivCounter(q));
    }

    /// <summary>Doubling in GF(2^128) (RFC 5297 §2.3), in place, without a branch on the value.</summary>
    private static void Dbl(Span<byte> block)
    {
        UInt128 x = BinaryPrimitives.ReadUInt128BigEndian(block);
        UInt128 carry = x >> 127;
        BinaryPrimitives.WriteUInt128BigEndian(block, (x << 1) ^ (carry * Rb));
    }

    private static void Xor(Span<byte> block, ReadOnlySpan<byte> value) =>
        (Vector128.Create(block) ^ Vector128.Create(value)).CopyTo(block);

    /// <summary>XORs the 16-byte <paramref name="value"/> at stream position <paramref name="at"/> into the part of it that falls in <paramref name="chunk"/>.</summary>
    private static void XorAt(Span<byte> chunk, int chunkOffset, int at, ReadOnlySpan<byte> value)
    {
        int start = Math.Max(at, chunkOffset);
        int end = Math.Min(at + BlockSize, chunkOffset + chunk.Length);
        for (int position = start; position < end; position++)
        {
            chunk[position - chunkOffset] ^= value[position - at];
        }
    }

    /// <summary>RFC 4493 §2.3 subkeys and the S2V constant D0, after (re-)keying K1 with a zero IV.</summary>
    private void DeriveSubkeys()
    {
        Span<byte> state = _state;
        Span<byte> l = state.Slice(Subkey1Offset, BlockSize);
        Span<byte> k2 = state.Slice(Subkey2Offset, BlockSize);

        // L = AES-K1(0^128): the fresh context has IV 0, so the CBC output of a zero block is L, which
        // becomes the chaining value. K1 = dbl(L), K2 = dbl(K1).
        ZeroBlock.CopyTo(l);
        Interop.Crypto.EvpEncryptUpdate(_cbc!.DangerousGetHandle(), l, l);
        l.CopyTo(state.Slice(ChainOffset, BlockSize));
        Dbl(l);
        l.CopyTo(k2);
        Dbl(k2);

        // RFC 5297 §2.4: every S2V starts from D = AES-CMAC(K1, <zero>), which depends on the key only.
        Cmac(ZeroBlock, default, state.Slice(D0Offset, BlockSize));
    }

    private void S2VStart(Span<byte> d) => _state.AsSpan(D0Offset, BlockSize).CopyTo(d);

    /// <summary>RFC 5297 §2.4: D = dbl(D) xor AES-CMAC(K, S_i).</summary>
    private void S2VAdd(Span<byte> d, ReadOnlySpan<byte> component)
    {
        Span<byte> mac = stackalloc byte[BlockSize];
        Cmac(component, default, mac);
        Dbl(d);
        Xor(d, mac);
    }

    /// <summary>RFC 5297 §2.4: V = AES-CMAC(K, S_n xorend D) or AES-CMAC(K, dbl(D) xor pad(S_n)).</summary>
    private void S2VFinish(Span<byte> d, ReadOnlySpan<byte> last, Span<byte> v)
    {
        if (last.Length >= BlockSize)
        {
            Cmac(last, d, v);
            return;
        }

        Dbl(d);
        for (int i = 0; i < last.Length; i++)
        {
            d[i] ^= last[i];
        }

        d[last.Length] ^= 0x80;
        Cmac(d, default, v);
    }

    /// <summary>
    /// AES-CMAC (RFC 4493 §2.4) of <paramref name="message"/>, with the 16-byte <paramref name="xorEnd"/>
    /// (when given; the message is then at least 16 bytes) XORed onto its last 16 bytes first.
    /// </summary>
    private void Cmac(ReadOnlySpan<byte> message, ReadOnlySpan<byte> xorEnd, Span<byte> tag)
    {
        int length = message.Length;
        bool complete = length != 0 && length % BlockSize == 0;
        int total = length == 0 ? BlockSize : (length + BlockSize - 1) & ~(BlockSize - 1);
        Span<byte> state = _state;
        Span<byte> chain = state.Slice(ChainOffset, BlockSize);
        ReadOnlySpan<byte> subkey = state.Slice(complete ? Subkey1Offset : Subkey2Offset, BlockSize);
        Span<byte> chunk = default;
        try
        {
            for (int offset = 0; offset < total; offset += chunk.Length)
            {
                chunk = _scratch!.AsSpan(0, Math.Min(ScratchSize, total - offset));
                int available = Math.Clamp(length - offset, 0, chunk.Length);
                message.Slice(offset, available).CopyTo(chunk);
                if (available < chunk.Length)
                {
                    // Only the last chunk can be short of message: RFC 4493 §2.4 pads with 10^i.
                    chunk[available..].Clear();
                    chunk[available] = 0x80;
                }

                if (offset == 0)
                {
                    // Cancels the context's IV (the previous CMAC's tag): CBC then computes E(M_1).
                    Xor(chunk[..BlockSize], chain);
                }

                if (!xorEnd.IsEmpty)
                {
                    XorAt(chunk, offset, length - BlockSize, xorEnd);
                }

                if (offset + chunk.Length == total)
                {
                    Xor(chunk[^BlockSize..], subkey);
                }

                // Raw pointer: NtsAead never frees the contexts while a call holds the instance.
                Interop.Crypto.EvpEncryptUpdate(_cbc!.DangerousGetHandle(), chunk, chunk);
            }
        }
        catch
        {
            // The context's IV no longer matches the chaining value: put both back to zero so that the
            // next call starts right, then report the OpenSSL failure.
            Interop.Crypto.EvpEncryptResetIv(_cbc!, ZeroBlock);
            chain.Clear();
            throw;
        }

        ReadOnlySpan<byte> last = chunk[^BlockSize..];
        last.CopyTo(chain);
        last.CopyTo(tag);
    }

    /// <summary>
    /// RFC 5297 §2.5: AES-CTR under K2 from Q = V with bits 63 and 31 cleared, the counter blocks built
    /// here and encrypted in runs with ECB.
    /// </summary>
    private void Ctr(ReadOnlySpan<byte> v, ReadOnlySpan<byte> input, Span<byte> output)
    {
        Span<byte> q = stackalloc byte[BlockSize];
        v.CopyTo(q);
        q[8] &= 0x7f;
        q[12] &= 0x7f;

        // The counter is the whole 128-bit Q, but with bit 31 clear the low 32 bits cannot carry out
        // before 2^31 blocks, more than a span can hold: incrementing the last word is enough.
        uint counter = BinaryPrimitives.ReadUInt32BigEndian(q[12..]);
        Span<byte> scratch = _scratch!;
        int used = 0;
        while (!input.IsEmpty)
        {
            int run = Math.Min(input.Length, ScratchSize);
            int blocks = (run + BlockSize - 1) / BlockSize;
            Span<byte> keystream = scratch[..(blocks * BlockSize)];
            for (int i = 0; i < blocks; i++)
            {
                Span<byte> block = keystream.Slice(i * BlockSize, BlockSize);
                q.CopyTo(block);
                BinaryPrimitives.WriteUInt32BigEndian(block[12..], counter++);
            }

            Interop.Crypto.EvpEncryptUpdate(_ecb!.DangerousGetHandle(), keystream, keystream);
            used = Math.Max(used, keystream.Length);
            XorBytes(input[..run], keystream, output);
            input = input[run..];
            output = output[run..];
        }

        // The keystream would decrypt this message: do not leave it behind.
        CryptographicOperations.ZeroMemory(scratch[..used]);
    }

    private static void XorBytes(ReadOnlySpan<byte> input, ReadOnlySpan<byte> keystream, Span<byte> output)
    {
        int i = 0;
        for (; i <= input.Length - BlockSize; i += BlockSize)
        {
            (Vector128.Create(input.Slice(i, BlockSize)) ^ Vector128.Create(keystream.Slice(i, BlockSize))).CopyTo(output.Slice(i, BlockSize));
        }

        for (; i < input.Length; i++)
        {
            output[i] = (byte)(input[i] ^ keystream[i]);
        }
    }

    /// <summary>RFC 5297 §2.5 counter blocks: Q plus i, in the last (big-endian) 32-bit word.</summary>
    private readonly struct SivCounter(Vector128<byte> q) : AesNi.ICounterBlocks
    {
        private readonly uint _start = BinaryPrimitives.ReadUInt32BigEndian(MemoryMarshal.AsBytes(new ReadOnlySpan<Vector128<byte>>(in q))[12..]);

        public Vector128<byte> Block(uint index) =>
            q.AsUInt32().WithElement(3, BinaryPrimitives.ReverseEndianness(_start + index)).AsByte();
    }
}
