using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        // ERR_get_error, ERR_error_string_n and ERR_clear_error are bound in Interop.Crypto.cs;
        // this file adds the reason lookup and the typed exception the TLS layer needs.

        /// <summary>ERR_LIB_SSL from &lt;openssl/err.h&gt;.</summary>
        internal const int ERR_LIB_SSL = 20;

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "ERR_reason_error_string")]
        private static partial nint ErrReasonErrorString(nuint error);

        /// <summary>
        /// Drains the calling thread's error queue into an <see cref="OpenSslException"/> naming
        /// <paramref name="operation"/>. Call it on the thread that made the failed call, before any
        /// other OpenSSL call: the queue is thread-local.
        /// </summary>
        internal static unsafe OpenSslException CreateOpenSslError(string operation)
        {
            var errors = new List<OpenSslError>();
            byte* buffer = stackalloc byte[256];
            nuint code;
            while ((code = ErrGetError()) != 0)
            {
                ErrErrorStringN(code, buffer, 256);
                string text = Marshal.PtrToStringUTF8((nint)buffer) ?? string.Empty;

                // ERR_reason_error_string returns a static string (never freed) or NULL for unknown codes.
                string reason = Marshal.PtrToStringUTF8(ErrReasonErrorString(code)) ?? string.Empty;
                errors.Add(new OpenSslError(code, text, reason));
            }

            return new OpenSslException(operation, errors);
        }
    }
}
