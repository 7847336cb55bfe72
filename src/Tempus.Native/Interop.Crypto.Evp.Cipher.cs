using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        // EVP_CIPHER objects returned by these are static OpenSSL tables: never freed.
        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_128_ecb")]
        internal static partial nint EvpAes128Ecb();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_256_ecb")]
        internal static partial nint EvpAes256Ecb();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_128_cbc")]
        internal static partial nint EvpAes128Cbc();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_256_cbc")]
        internal static partial nint EvpAes256Cbc();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CIPHER_CTX_new")]
        private static partial SafeEvpCipherCtxHandle EvpCipherCtxNewNative();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CIPHER_CTX_free")]
        internal static partial void EvpCipherCtxFree(nint ctx);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_EncryptInit_ex")]
        private static unsafe partial int EvpEncryptInitExNative(SafeEvpCipherCtxHandle ctx, nint cipher, nint engine, byte* key, byte* iv);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CIPHER_CTX_set_padding")]
        private static partial int EvpCipherCtxSetPaddingNative(SafeEvpCipherCtxHandle ctx, int padding);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_EncryptUpdate")]
        private static unsafe partial int EvpEncryptUpdateNative(SafeEvpCipherCtxHandle ctx, byte* output, out int outputLength, byte* input, int inputLength);

        /// <summary>
        /// Creates an encryption context for <paramref name="cipher"/> keyed with <paramref name="key"/>,
        /// padding off: callers feed whole blocks only.
        /// </summary>
        internal static unsafe SafeEvpCipherCtxHandle EvpCipherCreateEncryptor(nint cipher, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv)
        {
            if (cipher == 0)
            {
                throw CreateOpenSslException("EVP_aes_*");
            }

            SafeEvpCipherCtxHandle ctx = EvpCipherCtxNewNative();
            if (ctx.IsInvalid)
            {
                ctx.Dispose();
                throw CreateOpenSslException("EVP_CIPHER_CTX_new");
            }

            try
            {
                fixed (byte* keyPtr = key)
                fixed (byte* ivPtr = iv)
                {
                    if (EvpEncryptInitExNative(ctx, cipher, 0, keyPtr, iv.IsEmpty ? null : ivPtr) != 1)
                    {
                        throw CreateOpenSslException("EVP_EncryptInit_ex");
                    }
                }

                if (EvpCipherCtxSetPaddingNative(ctx, 0) != 1)
                {
                    throw CreateOpenSslException("EVP_CIPHER_CTX_set_padding");
                }

                return ctx;
            }
            catch
            {
                ctx.Dispose();
                throw;
            }
        }

        /// <summary>Resets the IV of an existing context; the key schedule is kept.</summary>
        internal static unsafe void EvpEncryptResetIv(SafeEvpCipherCtxHandle ctx, ReadOnlySpan<byte> iv)
        {
            fixed (byte* ivPtr = iv)
            {
                if (EvpEncryptInitExNative(ctx, 0, 0, null, ivPtr) != 1)
                {
                    throw CreateOpenSslException("EVP_EncryptInit_ex");
                }
            }
        }

        /// <summary>
        /// Encrypts whole blocks; <paramref name="output"/> may be the same memory as
        /// <paramref name="input"/> (OpenSSL allows exact in-place operation) but must not partially overlap.
        /// </summary>
        internal static unsafe void EvpEncryptUpdate(SafeEvpCipherCtxHandle ctx, ReadOnlySpan<byte> input, Span<byte> output)
        {
            if (output.Length < input.Length)
            {
                throw new ArgumentException("output is shorter than input", nameof(output));
            }

            fixed (byte* inPtr = input)
            fixed (byte* outPtr = output)
            {
                if (EvpEncryptUpdateNative(ctx, outPtr, out int written, inPtr, input.Length) != 1)
                {
                    throw CreateOpenSslException("EVP_EncryptUpdate");
                }

                if (written != input.Length)
                {
                    // Padding is off, so OpenSSL held back a partial block: a caller bug, not an OpenSSL error.
                    throw new ArgumentException($"EVP_EncryptUpdate wrote {written} of {input.Length} bytes: the input must be whole cipher blocks", nameof(input));
                }
            }
        }
    }
}
