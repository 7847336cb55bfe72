using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        // <openssl/bio.h>
        private const int BIO_C_SET_BUF_MEM_EOF_RETURN = 130;

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "BIO_s_mem")]
        private static partial nint BioSMem();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "BIO_new")]
        private static partial SafeBioHandle BioNew(nint method);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "BIO_free")]
        internal static partial int BioFree(nint bio);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "BIO_read")]
        private static unsafe partial int BioReadNative(SafeBioHandle bio, byte* buffer, int length);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "BIO_write")]
        private static unsafe partial int BioWriteNative(SafeBioHandle bio, byte* buffer, int length);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "BIO_ctrl")]
        private static partial nint BioCtrl(SafeBioHandle bio, int cmd, nint larg, nint parg);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "BIO_ctrl_pending")]
        private static partial nuint BioCtrlPending(SafeBioHandle bio);

        /// <summary>
        /// A memory BIO: a growable in-process byte queue. An empty one answers reads with "retry"
        /// (BIO_s_mem's default EOF return of -1), which OpenSSL surfaces as SSL_ERROR_WANT_READ.
        /// </summary>
        internal static SafeBioHandle CreateMemoryBio()
        {
            ErrClearError();
            SafeBioHandle bio = BioNew(BioSMem());
            if (bio.IsInvalid)
            {
                bio.Dispose();
                throw CreateOpenSslError("BIO_new(BIO_s_mem())");
            }

            return bio;
        }

        /// <summary>Bytes waiting to be read from <paramref name="bio"/>.</summary>
        internal static int BioPending(SafeBioHandle bio) => (int)Math.Min(BioCtrlPending(bio), int.MaxValue);

        /// <summary>Moves up to <paramref name="destination"/>.Length queued bytes out of a memory BIO; 0 when it is empty.</summary>
        internal static unsafe int BioRead(SafeBioHandle bio, Span<byte> destination)
        {
            if (BioPending(bio) == 0)
            {
                return 0;
            }

            fixed (byte* ptr = destination)
            {
                int read = BioReadNative(bio, ptr, destination.Length);
                return read > 0 ? read : 0;
            }
        }

        /// <summary>Appends all of <paramref name="source"/> to a memory BIO, which grows as needed.</summary>
        internal static unsafe void BioWrite(SafeBioHandle bio, ReadOnlySpan<byte> source)
        {
            ErrClearError();
            fixed (byte* ptr = source)
            {
                if (BioWriteNative(bio, ptr, source.Length) != source.Length)
                {
                    throw CreateOpenSslError("BIO_write");
                }
            }
        }

        /// <summary>
        /// BIO_set_mem_eof_return(bio, 0): once drained, the BIO reports end of file instead of "retry".
        /// Used when the TCP peer has closed, so OpenSSL sees the EOF instead of waiting forever.
        /// </summary>
        internal static void BioSetMemEofReached(SafeBioHandle bio) => BioCtrl(bio, BIO_C_SET_BUF_MEM_EOF_RETURN, 0, 0);
    }
}
