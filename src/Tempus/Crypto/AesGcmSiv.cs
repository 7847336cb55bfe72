using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Tempus.Native;
using Tempus.Protocol;

namespace Tempus.Crypto;

/// <summary>
/// AEAD_AES_128_GCM_SIV (RFC 8452), NTS AEAD id 30, for OpenSSL versions without it (before 3.2, such as
/// Debian 12's 3.0): POLYVAL in managed code (PCLMULQDQ, or a constant-time software multiply) and the AES
/// block function on AES-NI (<see cref="AesNi"/>: the key-generating key expanded once into a pinned
/// schedule, the derived message-encryption key per message into one on the stack that is wiped after
/// use), or, on CPUs without AES-NI, from two OpenSSL AES-ECB contexts, one keyed once with the
/// key-generating key and one re-keyed per message with the derived message-encryption key. A 32-byte key gives AEAD_AES_256_GCM_SIV
/// (IANA id 31, not an NTS algorithm), kept so that the RFC 8452 §C.2 and §C.3 (counter wrap) vectors run
/// through the same code.
/// </summary>
/// <remarks>
/// On the fallback path, OpenSSL ECB rather than .NET's <see cref="Aes"/>: on Linux every <c>Aes.EncryptEcb</c> call creates and
/// keys a fresh OpenSSL context, which measured 1.4-1.6 µs and 64 allocated bytes per four-block call,
/// against 23 ns and nothing for an update on a kept context, and 110-170 ns to re-key one
/// (AesBlockBenchmarks). Seal / open of 100 bytes under 200 bytes of associated data with PCLMULQDQ
/// (best of 400 windows of 200 calls, AMD EPYC VM): 299 / 325 ns on AES-NI, where the per-message key
/// expansion is cheap, and 378 / 418 ns on OpenSSL, where the per-message re-key is the largest single
/// part; 1.5 / 1.6 µs with the software POLYVAL on OpenSSL. OpenSSL's CTR mode does not fit either:
/// RFC 8452 §4 increments only the first 32 bits, little-endian, of the counter block, so the counter
/// blocks are built here (and encrypted four at a time on AES-NI, with ECB in runs of up to 32 on OpenSSL).
/// </remarks>
internal sealed class AesGcmSiv : NtsAead
{
    private const int BlockSize = 16;
    private const int AuthenticationKeySize = 16;
    private const int NonceSize = 12;

    // IANA AEAD registry: AEAD_AES_256_GCM_SIV. Not negotiable in NTS; only for the RFC vectors.
    private const NtsAeadAlgorithm Aes256GcmSiv = (NtsAeadAlgorithm)31;

    // Counter blocks encrypted per EVP call; an NTS message of up to 512 bytes takes one call.
    private const int ScratchSize = 512;

    // The AES-NI path: the key-generating key's schedule, pinned. Null on the OpenSSL path.
    private readonly AesNiKey[]? _keys;

    // The OpenSSL path: the two ECB contexts and the run buffer. Null on the AES-NI path.
    private readonly SafeEvpCipherCtxHandle? _keyGenerating;
    private readonly SafeEvpCipherCtxHandle? _message;
    private readonly byte[]? _scratch;
    private readonly bool _hardwarePolyval;
    private readonly int _keyLength;

    /// <summary>Expands the key-generating key: 16 bytes for AES-128-GCM-SIV, 32 for AES-256-GCM-SIV.</summary>
    /// <param name="key">The AEAD key.</param>
    /// <param name="hardwarePolyval">Whether POLYVAL may use PCLMULQDQ; <see langword="false"/> forces the software multiply (tests).</param>
    /// <param name="useIntrinsics">Whether AES runs on AES-NI when the CPU has it; <see langword="false"/> forces OpenSSL (tests).</param>
    internal AesGcmSiv(ReadOnlySpan<byte> key, bool hardwarePolyval = true, bool useIntrinsics = true)
    {
        if (key.Length is not (16 or 32))
        {
            throw new ArgumentException($"AES-GCM-SIV needs a 16-byte (AEAD 30) or 32-byte key, got {key.Length} bytes", nameof(key));
        }

        _keyLength = key.Length;
        _hardwarePolyval = hardwarePolyval && Polyval.IsHardwareAccelerated;
        if (useIntrinsics && AesNi.IsSupported)
        {
            _keys = AesNiKeys.Allocate(1);
            _keys[0].Expand(key);
            return;
        }

        Interop.Crypto.EnsureSupported();
        _scratch = GC.AllocateArray<byte>(ScratchSize, pinned: true);
        nint ecb = key.Length == 16 ? Interop.Crypto.EvpAes128Ecb() : Interop.Crypto.EvpAes256Ecb();
        _keyGenerating = Interop.Crypto.EvpCipherCreateEncryptor(ecb, key, default);
        try
        {
            // Keyed per message by DeriveKeys; the key-generating key is only a placeholder.
            _message = Interop.Crypto.EvpCipherCreateEncryptor(ecb, key, default);
        }
        catch
        {
            _keyGenerating.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override NtsAeadAlgorithm Algorithm => _keyLength == 16 ? NtsAeadAlgorithm.Aes128GcmSiv : Aes256GcmSiv;

    /// <inheritdoc/>
    public override int KeyLength => _keyLength;

    /// <inheritdoc/>
    public override int NonceLength => NonceSize;

    /// <inheritdoc/>
    public override int MinNonceLength => NonceSize;

    /// <inheritdoc/>
    public override int MaxNonceLength => NonceSize;

    /// <summary>Whether POLYVAL runs on PCLMULQDQ in this instance.</summary>
    internal bool UsesHardwarePolyval => _hardwarePolyval;

    /// <summary>Whether this instance runs AES on AES-NI (<see langword="false"/>: through OpenSSL).</summary>
    internal bool UsesIntrinsics => _keys is not null;

    /// <inheritdoc/>
    private protected override void SetKeyCore(ReadOnlySpan<byte> key)
    {
        if (_keys is not null)
        {
            _keys[0].Expand(key);
            return;
        }

        Interop.Crypto.EvpCipherInit(_keyGenerating!, 0, key, default, encrypt: true);
    }

    /// <inheritdoc/>
    private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertextWithTag)
    {
        Span<byte> authenticationKey = stackalloc byte[AuthenticationKeySize];
        if (_keys is not null)
        {
            var messageKey = default(AesNiKey);
            try
            {
                DeriveKeysManaged(nonce, authenticationKey, ref messageKey);
                Span<byte> tag = ciphertextWithTag[plaintext.Length..];
                ComputeTagManaged(in messageKey, authenticationKey, nonce, associatedData, plaintext).CopyTo(tag);
                AesNi.Ctr(in messageKey, plaintext, ciphertextWithTag[..plaintext.Length], new GcmSivCounter(AesNi.Load(tag, 0)));
            }
            finally
            {
                messageKey.Clear();
                CryptographicOperations.ZeroMemory(authenticationKey);
            }

            return;
        }

        try
        {
            DeriveKeys(nonce, authenticationKey);
            Span<byte> tag = ciphertextWithTag[plaintext.Length..];
            ComputeTag(authenticationKey, nonce, associatedData, plaintext, tag);
            Ctr(tag, plaintext, ciphertextWithTag[..plaintext.Length]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(authenticationKey);
        }
    }

    /// <inheritdoc/>
    private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag, Span<byte> plaintext)
    {
        // RFC 8452 §5: decrypt with the received tag as counter, then recompute the tag over the plaintext.
        Span<byte> authenticationKey = stackalloc byte[AuthenticationKeySize];
        Span<byte> expected = stackalloc byte[BlockSize];
        if (_keys is not null)
        {
            var messageKey = default(AesNiKey);
            try
            {
                DeriveKeysManaged(nonce, authenticationKey, ref messageKey);
                ReadOnlySpan<byte> tag = ciphertextWithTag[plaintext.Length..];
                AesNi.Ctr(in messageKey, ciphertextWithTag[..plaintext.Length], plaintext, new GcmSivCounter(AesNi.Load(tag, 0)));
                ComputeTagManaged(in messageKey, authenticationKey, nonce, associatedData, plaintext).CopyTo(expected);
                return CryptographicOperations.FixedTimeEquals(expected, tag);
            }
            finally
            {
                messageKey.Clear();
                CryptographicOperations.ZeroMemory(authenticationKey);
            }
        }

        try
        {
            DeriveKeys(nonce, authenticationKey);
            ReadOnlySpan<byte> tag = ciphertextWithTag[plaintext.Length..];
            Ctr(tag, ciphertextWithTag[..plaintext.Length], plaintext);
            ComputeTag(authenticationKey, nonce, associatedData, plaintext, expected);
            return CryptographicOperations.FixedTimeEquals(expected, tag);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(authenticationKey);
        }
    }

    /// <inheritdoc/>
    private protected override void DisposeCore()
    {
        if (_keys is not null)
        {
            AesNiKeys.Clear(_keys);
            return;
        }

        CryptographicOperations.ZeroMemory(_scratch);
        _keyGenerating!.Dispose();
        _message!.Dispose();
    }

    /// <summary>
    /// RFC 8452 §4 on AES-NI: the same derivation as <see cref="DeriveKeys"/>, the blocks encrypted four at a
    /// time in registers, and the message-encryption key expanded into <paramref name="messageKey"/>.
    /// </summary>
    private void DeriveKeysManaged(ReadOnlySpan<byte> nonce, Span<byte> authenticationKey, ref AesNiKey messageKey)
    {
        Span<byte> block = stackalloc byte[BlockSize];
        nonce.CopyTo(block[4..]);
        Vector128<uint> template = AesNi.Load(block, 0).AsUInt32();
        Vector128<byte> b0 = template.WithElement(0, 0u).AsByte();
        Vector128<byte> b1 = template.WithElement(0, 1u).AsByte();
        Vector128<byte> b2 = template.WithElement(0, 2u).AsByte();
        Vector128<byte> b3 = template.WithElement(0, 3u).AsByte();
        Vector128<byte> b4 = template.WithElement(0, 4u).AsByte();
        Vector128<byte> b5 = template.WithElement(0, 5u).AsByte();
        ref readonly AesNiKey keyGenerating = ref _keys![0];
        keyGenerating.Encrypt4(ref b0, ref b1, ref b2, ref b3);
        Vector128.Create(b0.AsUInt64().GetElement(0), b1.AsUInt64().GetElement(0)).AsByte().CopyTo(authenticationKey);

        // The encryption key: the first 8 bytes of blocks 2, 3 (and 4, 5 for a 256-bit key).
        Span<byte> encryptionKey = stackalloc byte[32];
        Vector128.Create(b2.AsUInt64().GetElement(0), b3.AsUInt64().GetElement(0)).AsByte().CopyTo(encryptionKey);
        if (_keyLength == 32)
        {
            Vector128<byte> unused0 = b0;
            Vector128<byte> unused1 = b1;
            keyGenerating.Encrypt4(ref b4, ref b5, ref unused0, ref unused1);
            Vector128.Create(b4.AsUInt64().GetElement(0), b5.AsUInt64().GetElement(0)).AsByte().CopyTo(encryptionKey[16..]);
        }

        messageKey.Expand(encryptionKey[.._keyLength]);
        CryptographicOperations.ZeroMemory(encryptionKey);
    }

    /// <summary>RFC 8452 §4 on AES-NI: tag = AES(K_enc, (POLYVAL(...) ⊕ (N || 0^32)) with the top bit cleared).</summary>
    private Vector128<byte> ComputeTagManaged(ref readonly AesNiKey messageKey, ReadOnlySpan<byte> authenticationKey, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        Span<byte> s = stackalloc byte[BlockSize];
        Polyval.HashGcmSiv(authenticationKey, associatedData, plaintext, s, _hardwarePolyval);
        for (int i = 0; i < NonceSize; i++)
        {
            s[i] ^= nonce[i];
        }

        s[15] &= 0x7f;
        return messageKey.Encrypt(AesNi.Load(s, 0));
    }

    /// <summary>
    /// RFC 8452 §4: AES(K, LE32(i) || N) for i = 0..3 (0..5 with a 256-bit key); the first 8 bytes of
    /// blocks 0 and 1 are the message-authentication key, those of the remaining blocks the
    /// message-encryption key, which re-keys the message context.
    /// </summary>
    private void DeriveKeys(ReadOnlySpan<byte> nonce, Span<byte> authenticationKey)
    {
        int count = 2 + (_keyLength / 8);
        Span<byte> blocks = stackalloc byte[6 * BlockSize];
        blocks = blocks[..(count * BlockSize)];
        for (int i = 0; i < count; i++)
        {
            Span<byte> block = blocks.Slice(i * BlockSize, BlockSize);
            BinaryPrimitives.WriteUInt32LittleEndian(block, (uint)i);
            nonce.CopyTo(block[4..]);
        }

        // Raw pointers: NtsAead never frees the contexts while a call holds the instance.
        Interop.Crypto.EvpEncryptUpdate(_keyGenerating!.DangerousGetHandle(), blocks, blocks);
        blocks[..8].CopyTo(authenticationKey);
        blocks.Slice(BlockSize, 8).CopyTo(authenticationKey[8..]);

        // The encryption key is gathered in place at the front: block i's half moves to 8·(i-2),
        // below block i, so nothing is overwritten before it is read.
        for (int i = 2; i < count; i++)
        {
            blocks.Slice(i * BlockSize, 8).CopyTo(blocks[((i - 2) * 8)..]);
        }

        Interop.Crypto.EvpEncryptSetKey(_message!.DangerousGetHandle(), blocks[.._keyLength]);
        CryptographicOperations.ZeroMemory(blocks);
    }

    /// <summary>RFC 8452 §4: tag = AES(K_enc, (POLYVAL(...) ⊕ (N || 0^32)) with the top bit cleared).</summary>
    private void ComputeTag(ReadOnlySpan<byte> authenticationKey, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> tag)
    {
        Span<byte> s = stackalloc byte[BlockSize];
        Polyval.HashGcmSiv(authenticationKey, associatedData, plaintext, s, _hardwarePolyval);
        for (int i = 0; i < NonceSize; i++)
        {
            s[i] ^= nonce[i];
        }

        s[15] &= 0x7f;
        Interop.Crypto.EvpEncryptUpdate(_message!.DangerousGetHandle(), s, tag);
    }

    /// <summary>
    /// RFC 8452 §4: AES-CTR from the tag with its top bit set, the first 32 bits a little-endian counter
    /// that wraps modulo 2^32 (the RFC's C.3 wrap vectors test it).
    /// </summary>
    private void Ctr(ReadOnlySpan<byte> tag, ReadOnlySpan<byte> input, Span<byte> output)
    {
        Span<byte> first = stackalloc byte[BlockSize];
        tag.CopyTo(first);
        first[15] |= 0x80;
        uint counter = BinaryPrimitives.ReadUInt32LittleEndian(first);
        Vector128<byte> counterBlock = Vector128.Create((ReadOnlySpan<byte>)first);
        Span<byte> scratch = _scratch!;
        int used = 0;
        while (!input.IsEmpty)
        {
            int run = Math.Min(input.Length, ScratchSize);
            int blocks = (run + BlockSize - 1) / BlockSize;
            Span<byte> keystream = scratch[..(blocks * BlockSize)];
            for (int i = 0; i < blocks; i++)
            {
                counterBlock.AsUInt32().WithElement(0, counter++).AsByte().CopyTo(keystream.Slice(i * BlockSize, BlockSize));
            }

            Interop.Crypto.EvpEncryptUpdate(_message!.DangerousGetHandle(), keystream, keystream);
            used = Math.Max(used, keystream.Length);
            Xor(input[..run], keystream, output);
            input = input[run..];
            output = output[run..];
        }

        // The keystream would decrypt this message: do not leave it behind.
        CryptographicOperations.ZeroMemory(scratch[..used]);
    }

    private static void Xor(ReadOnlySpan<byte> input, ReadOnlySpan<byte> keystream, Span<byte> output)
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

    /// <summary>RFC 8452 §4 counter blocks: the tag with its top bit set, plus i in the first (little-endian) 32-bit word, mod 2^32.</summary>
    private readonly struct GcmSivCounter(Vector128<byte> tag) : AesNi.ICounterBlocks
    {
        private readonly Vector128<uint> _first = (tag | Vector128.Create(0, 0, 0, 0x80000000u).AsByte()).AsUInt32();

        public Vector128<byte> Block(uint index) => _first.WithElement(0, _first.GetElement(0) + index).AsByte();
    }
}
