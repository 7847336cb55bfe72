using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        /// <summary>EVP_MAX_MD_SIZE: the longest digest OpenSSL writes (SHA-512).</summary>
        internal const int EvpMaxMdSize = 64;

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_MD_fetch", StringMarshalling = StringMarshalling.Utf8)]
        private static partial nint EvpMdFetchNative(nint libraryContext, string algorithm, string? properties);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_MD_free")]
        internal static partial void EvpMdFree(nint md);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_MD_CTX_new")]
        private static partial SafeEvpMdCtxHandle EvpMdCtxNewNative();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_MD_CTX_free")]
        internal static partial void EvpMdCtxFree(nint ctx);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_DigestInit_ex2")]
        private static partial int EvpDigestInitEx2Native(nint ctx, nint md, nint parameters);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_DigestUpdate")]
        private static unsafe partial int EvpDigestUpdateNative(nint ctx, byte* data, nuint count);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "EVP_DigestFinal_ex")]
        private static unsafe partial int EvpDigestFinalExNative(nint ctx, byte* md, out uint size);

        /// <summary>
        /// Fetches a digest implementation once (EVP_MD_fetch from the default library context), e.g. "SHA1".
        /// A context initialised with a fetched EVP_MD skips the provider lookup that the legacy EVP_sha1()
        /// tables cost on every EVP_DigestInit in OpenSSL 3. The caller owns one reference (<see cref="EvpMdFree"/>).
        /// </summary>
        /// <exception cref="System.Security.Cryptography.CryptographicException">
        /// No provider offers <paramref name="algorithm"/> (MD5 under a FIPS-only configuration, for one).
        /// </exception>
        internal static nint EvpMdFetch(string algorithm)
        {
            EnsureSupported();
            nint md = EvpMdFetchNative(0, algorithm, null);
            if (md == 0)
            {
                throw CreateOpenSslException($"EVP_MD_fetch({algorithm})");
            }

            return md;
        }

        /// <summary>Creates a context initialised for <paramref name="md"/> (a fetched EVP_MD), ready for <see cref="EvpDigestTwoParts"/>.</summary>
        internal static SafeEvpMdCtxHandle EvpMdCtxCreate(nint md)
        {
            ArgumentOutOfRangeException.ThrowIfZero(md);
            SafeEvpMdCtxHandle ctx = EvpMdCtxNewNative();
            if (ctx.IsInvalid)
            {
                ctx.Dispose();
                throw CreateOpenSslException("EVP_MD_CTX_new");
            }

            if (EvpDigestInitEx2Native(ctx.DangerousGetHandle(), md, 0) != 1)
            {
                ctx.Dispose();
                throw CreateOpenSslException("EVP_DigestInit_ex2");
            }

            return ctx;
        }

        /// <summary>
        /// Writes H(<paramref name="first"/> || <paramref name="second"/>) with a context from
        /// <see cref="EvpMdCtxCreate"/>, with no copy of the two parts, and returns the digest length. Afterwards
        /// the context is initialised again (EVP_DigestInit_ex2 with no new EVP_MD: the provider's init clears its
        /// whole state, chaining values and block buffer), so it holds nothing of the inputs and is ready for the
        /// next call. On any failure the context is freed (which clears it too) and an exception thrown: a caller
        /// caching contexts must check <see cref="System.Runtime.InteropServices.SafeHandle.IsClosed"/>.
        /// </summary>
        /// <exception cref="ArgumentException"><paramref name="output"/> is shorter than <see cref="EvpMaxMdSize"/>.</exception>
        internal static unsafe int EvpDigestTwoParts(SafeEvpMdCtxHandle ctx, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> output)
        {
            if (output.Length < EvpMaxMdSize)
            {
                throw new ArgumentException($"the output must hold {EvpMaxMdSize} bytes (EVP_MAX_MD_SIZE), it has {output.Length}", nameof(output));
            }

            bool added = false;
            try
            {
                // One reference for the four calls instead of one per call through the marshaller.
                ctx.DangerousAddRef(ref added);
                nint handle = ctx.DangerousGetHandle();
                string? failed = null;
                uint size = 0;
                fixed (byte* firstPtr = first)
                fixed (byte* secondPtr = second)
                fixed (byte* outPtr = output)
                {
                    if (EvpDigestUpdateNative(handle, firstPtr, (nuint)first.Length) != 1)
                    {
                        failed = "EVP_DigestUpdate";
                    }
                    else if (EvpDigestUpdateNative(handle, secondPtr, (nuint)second.Length) != 1)
                    {
                        failed = "EVP_DigestUpdate";
                    }
                    else if (EvpDigestFinalExNative(handle, outPtr, out size) != 1)
                    {
                        failed = "EVP_DigestFinal_ex";
                    }
                }

                // Always, failure or not: this is what wipes the inputs from the provider's state.
                if (EvpDigestInitEx2Native(handle, 0, 0) != 1)
                {
                    failed ??= "EVP_DigestInit_ex2";
                }

                if (failed is not null || size > EvpMaxMdSize)
                {
                    ctx.Dispose();
                    throw CreateOpenSslException(failed ?? "EVP_DigestFinal_ex");
                }

                return (int)size;
            }
            finally
            {
                if (added)
                {
                    ctx.DangerousRelease();
                }
            }
        }
    }
}
