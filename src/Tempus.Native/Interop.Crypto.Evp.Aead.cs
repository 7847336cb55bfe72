using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        // <openssl/evp.h>: the generic AEAD controls (GCM, CCM, OCB, SIV and GCM-SIV share them).
        internal const int EVP_CTRL_AEAD_SET_IVLEN = 0x9;
        internal const int EVP_CTRL_AEAD_GET_TAG = 0x10;
        internal const int EVP_CTRL_AEAD_SET_TAG = 0x11;

        // EVP_CIPHER objects returned by these are static OpenSSL tables: never freed.
        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_192_cbc")]
        internal static partial nint EvpAes192Cbc();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_192_ecb")]
        internal static partial nint EvpAes192Ecb();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_128_ctr")]
        internal static partial nint EvpAes128Ctr();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_192_ctr")]
        internal static partial nint EvpAes192Ctr();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_aes_256_ctr")]
        internal static partial nint EvpAes256Ctr();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "OpenSSL_version_num")]
        private static partial nuint OpenSslVersionNumForAead();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CIPHER_fetch", StringMarshalling = StringMarshalling.Utf8)]
        private static partial SafeEvpCipherHandle EvpCipherFetchNative(nint libraryContext, string algorithm, string? properties);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CIPHER_free")]
        internal static partial void EvpCipherFree(nint cipher);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CIPHER_CTX_new")]
        private static partial SafeEvpCipherCtxHandle EvpCipherCtxNewForAead();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CipherInit_ex")]
        private static unsafe partial int EvpCipherInitExNative(SafeEvpCipherCtxHandle ctx, nint cipher, nint engine, byte* key, byte* iv, int enc);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CipherUpdate")]
        private static unsafe partial int EvpCipherUpdateNative(SafeEvpCipherCtxHandle ctx, byte* output, out int outputLength, byte* input, int inputLength);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CipherFinal_ex")]
        private static unsafe partial int EvpCipherFinalExNative(SafeEvpCipherCtxHandle ctx, byte* output, out int outputLength);

        // Blittable twins of EVP_EncryptUpdate and EVP_CipherInit_ex for contexts whose owner guarantees
        // they outlive the call (see the wrappers): no SafeHandle reference counting, which measured
        // 23 ns of a 44 ns one-block update.
        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_EncryptUpdate")]
        private static unsafe partial int EvpEncryptUpdateUnownedNative(nint ctx, byte* output, int* outputLength, byte* input, int inputLength);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CipherInit_ex")]
        private static unsafe partial int EvpCipherInitExUnownedNative(nint ctx, nint cipher, nint engine, byte* key, byte* iv, int enc);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_CIPHER_CTX_ctrl")]
        private static unsafe partial int EvpCipherCtxCtrlNative(SafeEvpCipherCtxHandle ctx, int type, int arg, byte* ptr);

        /// <summary>The OpenSSL_version_num() of the loaded libcrypto, e.g. 0x30000130 for 3.0.19.</summary>
        internal static ulong OpenSslVersion => OpenSslVersionNumForAead();

        /// <summary>
        /// Fetches a cipher implementation by name from the default library context (OpenSSL 3
        /// EVP_CIPHER_fetch), or returns <see langword="null"/> when no provider offers it, as for
        /// "AES-128-GCM-SIV" before OpenSSL 3.2. The error queue is cleared on a miss.
        /// </summary>
        internal static SafeEvpCipherHandle? EvpCipherFetch(string algorithm)
        {
            SafeEvpCipherHandle cipher = EvpCipherFetchNative(0, algorithm, null);
            if (cipher.IsInvalid)
            {
                cipher.Dispose();
                ErrClearError();
                return null;
            }

            return cipher;
        }

        /// <summary>Creates a context for <paramref name="cipher"/> with no key yet; <see cref="EvpCipherInit"/> keys it.</summary>
        internal static SafeEvpCipherCtxHandle EvpCipherCtxCreate(SafeEvpCipherHandle cipher)
        {
            SafeEvpCipherCtxHandle ctx = EvpCipherCtxNewForAead();
            if (ctx.IsInvalid)
            {
                ctx.Dispose();
                throw CreateOpenSslException("EVP_CIPHER_CTX_new");
            }

            try
            {
                bool added = false;
                cipher.DangerousAddRef(ref added);
                try
                {
                    // The context takes its own reference on the fetched EVP_CIPHER (EVP_CIPHER_up_ref),
                    // so the handle may be released while the context lives.
                    EvpCipherInit(ctx, cipher.DangerousGetHandle(), default, default, encrypt: true);
                }
                finally
                {
                    if (added)
                    {
                        cipher.DangerousRelease();
                    }
                }

                return ctx;
            }
            catch
            {
                ctx.Dispose();
                throw;
            }
        }

        /// <summary>
        /// EVP_CipherInit_ex: sets the cipher (when <paramref name="cipher"/> is not 0), the key and the
        /// IV (each only when not empty) and the direction. With a key it also re-expands the key schedule,
        /// which is how a context is re-keyed without being freed.
        /// </summary>
        internal static unsafe void EvpCipherInit(SafeEvpCipherCtxHandle ctx, nint cipher, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, bool encrypt)
        {
            fixed (byte* keyPtr = key)
            fixed (byte* ivPtr = iv)
            {
                if (EvpCipherInitExNative(ctx, cipher, 0, key.IsEmpty ? null : keyPtr, iv.IsEmpty ? null : ivPtr, encrypt ? 1 : 0) != 1)
                {
                    throw CreateOpenSslException("EVP_CipherInit_ex");
                }
            }
        }

        /// <summary>
        /// EVP_EncryptUpdate of whole blocks on a raw context pointer, for hot paths. The caller must own the
        /// <see cref="SafeEvpCipherCtxHandle"/> the pointer came from and make sure nothing can dispose it
        /// during the call; <paramref name="output"/> may be exactly <paramref name="input"/>, not partly.
        /// </summary>
        internal static unsafe void EvpEncryptUpdate(nint ctx, ReadOnlySpan<byte> input, Span<byte> output)
        {
            if (output.Length < input.Length)
            {
                throw new ArgumentException("output is shorter than input", nameof(output));
            }

            int written;
            fixed (byte* inPtr = input)
            fixed (byte* outPtr = output)
            {
                if (EvpEncryptUpdateUnownedNative(ctx, outPtr, &written, inPtr, input.Length) != 1 || written != input.Length)
                {
                    throw CreateOpenSslException("EVP_EncryptUpdate");
                }
            }
        }

        /// <summary>
        /// Re-keys an encryption context given as a raw pointer (EVP_CipherInit_ex with the key, keeping the
        /// cipher), under the same ownership rule as <see cref="EvpEncryptUpdate(nint, ReadOnlySpan{byte}, Span{byte})"/>.
        /// </summary>
        internal static unsafe void EvpEncryptSetKey(nint ctx, ReadOnlySpan<byte> key)
        {
            fixed (byte* keyPtr = key)
            {
                if (EvpCipherInitExUnownedNative(ctx, 0, 0, keyPtr, null, 1) != 1)
                {
                    throw CreateOpenSslException("EVP_CipherInit_ex");
                }
            }
        }

        /// <summary>
        /// Passes associated data to an AEAD context (EVP_CipherUpdate with a NULL output). For AES-SIV
        /// each call is one S2V component (RFC 5297 §2.4). Returns false when OpenSSL refuses it.
        /// </summary>
        internal static unsafe bool EvpCipherUpdateAad(SafeEvpCipherCtxHandle ctx, ReadOnlySpan<byte> associatedData)
        {
            // A non-null pointer for empty data: OpenSSL reads no bytes, but some providers treat
            // in == NULL as "no call".
            byte dummy = 0;
            fixed (byte* adPtr = associatedData)
            {
                return EvpCipherUpdateNative(ctx, null, out _, associatedData.IsEmpty ? &dummy : adPtr, associatedData.Length) == 1;
            }
        }

        /// <summary>
        /// EVP_CipherUpdate of a whole AEAD message body. Returns false when OpenSSL fails (for AES-SIV
        /// decryption that includes a tag mismatch) or writes other than <paramref name="input"/>'s length.
        /// </summary>
        internal static unsafe bool EvpCipherUpdate(SafeEvpCipherCtxHandle ctx, ReadOnlySpan<byte> input, Span<byte> output)
        {
            if (output.Length < input.Length)
            {
                throw new ArgumentException("output is shorter than input", nameof(output));
            }

            fixed (byte* inPtr = input)
            fixed (byte* outPtr = output)
            {
                return EvpCipherUpdateNative(ctx, outPtr, out int written, inPtr, input.Length) == 1 && written == input.Length;
            }
        }

        /// <summary>EVP_CipherFinal_ex for an AEAD (no output bytes); false when it fails, as on a tag mismatch.</summary>
        internal static unsafe bool EvpCipherFinal(SafeEvpCipherCtxHandle ctx)
        {
            byte* scratch = stackalloc byte[32];
            return EvpCipherFinalExNative(ctx, scratch, out int written) == 1 && written == 0;
        }

        /// <summary>Reads (EVP_CTRL_AEAD_GET_TAG) the tag after encryption.</summary>
        internal static unsafe void EvpCipherGetTag(SafeEvpCipherCtxHandle ctx, Span<byte> tag)
        {
            fixed (byte* tagPtr = tag)
            {
                if (EvpCipherCtxCtrlNative(ctx, EVP_CTRL_AEAD_GET_TAG, tag.Length, tagPtr) != 1)
                {
                    throw CreateOpenSslException("EVP_CIPHER_CTX_ctrl(EVP_CTRL_AEAD_GET_TAG)");
                }
            }
        }

        /// <summary>Sets (EVP_CTRL_AEAD_SET_TAG) the expected tag before decryption.</summary>
        internal static unsafe void EvpCipherSetTag(SafeEvpCipherCtxHandle ctx, ReadOnlySpan<byte> tag)
        {
            fixed (byte* tagPtr = tag)
            {
                if (EvpCipherCtxCtrlNative(ctx, EVP_CTRL_AEAD_SET_TAG, tag.Length, tagPtr) != 1)
                {
                    throw CreateOpenSslException("EVP_CIPHER_CTX_ctrl(EVP_CTRL_AEAD_SET_TAG)");
                }
            }
        }
    }
}
