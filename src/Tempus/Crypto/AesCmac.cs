using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Tempus.Native;

namespace Tempus.Crypto;

/// <summary>
/// AES-CMAC (RFC 4493) with a 128-bit or 256-bit AES key, the MAC of NTP symmetric-key
/// authentication (RFC 8573) and the S2V primitive of AES-SIV (RFC 5297).
/// </summary>
/// <remarks>
/// On a CPU with AES-NI the key schedule is expanded once into a pinned buffer and
/// <see cref="Compute"/> runs the CBC-MAC chain with the AES instructions straight over the caller's
/// message (see <see cref="AesNi"/>). Without it, the key schedule lives in one OpenSSL AES-CBC
/// context and the chain runs in as few EVP calls as possible (one for messages up to 512 bytes).
/// Either way the subkeys K1 and K2 are derived once and <see cref="Compute"/> allocates nothing.
/// Instances are thread-safe: calls on one instance are serialized by a lock.
/// </remarks>
public sealed class AesCmac : IDisposable
{
    /// <summary>Length of an AES block and of a full CMAC tag, in bytes.</summary>
    public const int BlockSize = 16;

    /// <summary>Length of the tag written by <see cref="Compute"/>, in bytes.</summary>
    public const int TagSize = 16;

    // Bytes run through OpenSSL per EVP_EncryptUpdate; the CBC output of each run is scratch.
    private const int ChunkSize = 512;

    // RFC 4493 §2.3: R_b for a 128-bit block cipher.
    private const byte Rb = 0x87;

    private static ReadOnlySpan<byte> ZeroBlock => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    // The AES-NI path: the pinned key schedule. Null on the OpenSSL path.
    private readonly AesNiKey[]? _keys;

    // The OpenSSL path: the CBC context. Null on the AES-NI path.
    private readonly SafeEvpCipherCtxHandle? _cbc;
    private readonly byte[] _k1 = GC.AllocateArray<byte>(BlockSize, pinned: true);
    private readonly byte[] _k2 = GC.AllocateArray<byte>(BlockSize, pinned: true);
    private readonly byte[] _chain = new byte[BlockSize];
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Expands <paramref name="key"/> and derives the CMAC subkeys.</summary>
    /// <param name="key">The AES key: 16 bytes (AES-128) or 32 bytes (AES-256).</param>
    /// <exception cref="ArgumentException">The key is neither 16 nor 32 bytes long.</exception>
    /// <exception cref="PlatformNotSupportedException">The CPU has no AES-NI and OpenSSL 3 (libcrypto.so.3) is not available.</exception>
    public AesCmac(ReadOnlySpan<byte> key)
        : this(key, useIntrinsics: true)
    {
    }

    /// <summary>Expands <paramref name="key"/> on the AES path chosen by <paramref name="useIntrinsics"/>.</summary>
    /// <param name="key">The AES key: 16 or 32 bytes.</param>
    /// <param name="useIntrinsics">Whether AES runs on AES-NI when the CPU has it; <see langword="false"/> forces OpenSSL (tests).</param>
    internal AesCmac(ReadOnlySpan<byte> key, bool useIntrinsics)
    {
        if (key.Length is not (16 or 32))
        {
            throw new ArgumentException($"AES-CMAC needs a 128-bit or 256-bit key, got {key.Length * 8} bits", nameof(key));
        }

        KeySize = key.Length;
        if (useIntrinsics && AesNi.IsSupported)
        {
            _keys = AesNiKeys.Allocate(1);
            _keys[0].Expand(key);
        }
        else
        {
            Interop.Crypto.EnsureSupported();
            nint cipher = key.Length == 16 ? Interop.Crypto.EvpAes128Cbc() : Interop.Crypto.EvpAes256Cbc();
            _cbc = Interop.Crypto.EvpCipherCreateEncryptor(cipher, key, ZeroBlock);
        }

        // RFC 4493 §2.3: L = AES-K(0^128); K1 = L << 1 (^ Rb if msb(L)); K2 = K1 << 1 (^ Rb if msb(K1)).
        Span<byte> l = stackalloc byte[BlockSize];
        EncryptBlockCore(ZeroBlock, l);
        ShiftLeftOneAndReduce(l, _k1);
        ShiftLeftOneAndReduce(_k1, _k2);
        CryptographicOperations.ZeroMemory(l);
    }

    /// <summary>Length of the AES key in bytes: 16 or 32.</summary>
    public int KeySize { get; }

    /// <summary>Whether this instance runs AES on AES-NI (<see langword="false"/>: through OpenSSL).</summary>
    internal bool UsesIntrinsics => _keys is not null;

    /// <summary>Computes the 16-byte CMAC of <paramref name="message"/> into <paramref name="tag16"/>.</summary>
    /// <param name="message">The message; any length, including empty.</param>
    /// <param name="tag16">Receives the tag; must be at least 16 bytes, only the first 16 are written.</param>
    /// <exception cref="ArgumentException"><paramref name="tag16"/> is shorter than 16 bytes.</exception>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    public void Compute(ReadOnlySpan<byte> message, Span<byte> tag16)
    {
        if (tag16.Length < TagSize)
        {
            throw new ArgumentException($"the tag buffer must hold {TagSize} bytes, it has {tag16.Length}", nameof(tag16));
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_keys is not null)
            {
                AesNi.Cmac(in _keys[0], AesNi.Load(_k1, 0), AesNi.Load(_k2, 0), message, default, hasXorEnd: false).CopyTo(tag16);
            }
            else
            {
                ComputeOpenSsl(message, tag16);
            }
        }
    }

    /// <summary>
    /// Checks a 16-byte tag in constant time. Returns <see langword="false"/> when the tag does
    /// not match or is not 16 bytes long.
    /// </summary>
    /// <param name="message">The message the tag claims to authenticate.</param>
    /// <param name="tag">The received tag.</param>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> tag)
    {
        Span<byte> expected = stackalloc byte[TagSize];
        Compute(message, expected);
        return tag.Length == TagSize && CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    /// <summary>Wipes the key schedule (freeing the OpenSSL context, which wipes its own) and clears the subkeys.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            CryptographicOperations.ZeroMemory(_k1);
            CryptographicOperations.ZeroMemory(_k2);
            if (_keys is not null)
            {
                AesNiKeys.Clear(_keys);
            }

            _cbc?.Dispose();
        }
    }

    /// <summary>The OpenSSL path of <see cref="Compute"/>; the caller holds the lock.</summary>
    private void ComputeOpenSsl(ReadOnlySpan<byte> message, Span<byte> tag16)
    {
        Span<byte> buffer = stackalloc byte[ChunkSize];

        // RFC 4493 §2.4: M_1 .. M_{n-1} go through the CBC chain as they are; the last block
        // (complete, or padded with 10^i) is XORed with K1 or K2 and chained like the others,
        // so the CBC output of the last block is the tag. Runs of up to ChunkSize bytes are
        // copied to the scratch buffer and encrypted in place: one EVP call for short messages.
        int prefix = message.IsEmpty ? 0 : (message.Length - 1) & ~(BlockSize - 1);
        int offset = 0;
        bool first = true;
        while (prefix - offset > ChunkSize - BlockSize)
        {
            int run = Math.Min(ChunkSize, prefix - offset);
            Span<byte> chunk = buffer[..run];
            message.Slice(offset, run).CopyTo(chunk);
            EncryptChained(chunk, first);
            first = false;
            offset += run;
        }

        int tail = prefix - offset;
        message.Slice(offset, tail).CopyTo(buffer);
        Span<byte> last = buffer.Slice(tail, BlockSize);
        ReadOnlySpan<byte> remainder = message[prefix..];
        if (remainder.Length == BlockSize)
        {
            remainder.CopyTo(last);
            Xor(last, _k1);
        }
        else
        {
            last.Clear();
            remainder.CopyTo(last);
            last[remainder.Length] = 0x80;
            Xor(last, _k2);
        }

        EncryptChained(buffer[..(tail + BlockSize)], first);
        last.CopyTo(tag16);

        // The scratch held message blocks XORed with a subkey; do not leave it on the stack.
        CryptographicOperations.ZeroMemory(buffer);
    }

    /// <summary>AES-encrypts one block with the CMAC key (AES-NI, or the CBC context with a zero IV).</summary>
    internal void EncryptBlock(ReadOnlySpan<byte> block, Span<byte> output)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EncryptBlockCore(block, output);
        }
    }

    /// <summary>Copies the RFC 4493 subkeys K1 and K2, for the §4 subkey vectors.</summary>
    internal void GetSubkeys(Span<byte> k1, Span<byte> k2)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _k1.CopyTo(k1);
            _k2.CopyTo(k2);
        }
    }

    private void EncryptBlockCore(ReadOnlySpan<byte> block, Span<byte> output)
    {
        if (_keys is not null)
        {
            _keys[0].Encrypt(block, output);
            return;
        }

        Span<byte> x = output[..BlockSize];
        block[..BlockSize].CopyTo(x);
        EncryptChained(x, first: true);
    }

    /// <summary>
    /// CBC-encrypts whole blocks in place. With <paramref name="first"/>, the chain restarts from a
    /// zero IV: the context's running IV is the last ciphertext block it produced (kept in
    /// <see cref="_chain"/>), so XORing that block into the first plaintext block cancels it. This
    /// replaces EVP_EncryptInit_ex, which costs more than the AES work for an NTP-sized message.
    /// </summary>
    private void EncryptChained(Span<byte> blocks, bool first)
    {
        if (first)
        {
            Xor(blocks, _chain);
        }

        try
        {
            Interop.Crypto.EvpEncryptUpdate(_cbc!, blocks, blocks);
        }
        catch
        {
            // The context's chain state is unknown now: restart it from the zero IV.
            Interop.Crypto.EvpEncryptResetIv(_cbc!, ZeroBlock);
            Array.Clear(_chain);
            throw;
        }

        blocks[^BlockSize..].CopyTo(_chain);
    }

    private static void ShiftLeftOneAndReduce(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int msb = input[0] >> 7;
        for (int i = 0; i < BlockSize - 1; i++)
        {
            output[i] = (byte)((input[i] << 1) | (input[i + 1] >> 7));
        }

        // Constant time: the mask is 0x00 or 0xff, no branch on key material.
        output[BlockSize - 1] = (byte)((input[BlockSize - 1] << 1) ^ (Rb & (byte)-msb));
    }

    private static void Xor(Span<byte> block, ReadOnlySpan<byte> subkey)
    {
        for (int i = 0; i < BlockSize; i++)
        {
            block[i] ^= subkey[i];
        }
    }
}
