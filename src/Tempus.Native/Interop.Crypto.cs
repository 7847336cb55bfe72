using System.Runtime.InteropServices;
using System.Security.Cryptography;

internal static partial class Interop
{
    /// <summary>OpenSSL 3 libcrypto: library check and the error queue.</summary>
    internal static partial class Crypto
    {
        private const long OpenSsl3VersionNumber = 0x30000000L;

        private static readonly Lazy<string?> s_unsupportedReason = new(ProbeLibCrypto);

        /// <summary>True when libcrypto.so.3 (OpenSSL 3.0 or later) can be loaded.</summary>
        internal static bool IsSupported => s_unsupportedReason.Value is null;

        /// <summary>Why libcrypto cannot be used, or null when it can.</summary>
        internal static string? UnsupportedReason => s_unsupportedReason.Value;

        /// <summary>Throws <see cref="PlatformNotSupportedException"/> with the reason when libcrypto is unusable.</summary>
        internal static void EnsureSupported()
        {
            if (s_unsupportedReason.Value is { } reason)
            {
                throw new PlatformNotSupportedException(reason);
            }
        }

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "OpenSSL_version_num")]
        private static partial nuint OpenSslVersionNumber();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "ERR_get_error")]
        private static partial nuint ErrGetError();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "ERR_clear_error")]
        internal static partial void ErrClearError();

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "ERR_error_string_n")]
        private static unsafe partial void ErrErrorStringN(nuint error, byte* buffer, nuint length);

        /// <summary>
        /// Drains the OpenSSL error queue into one exception naming the failed call (see
        /// <see cref="CreateOpenSslError"/>, which this forwards to so there is one error path).
        /// </summary>
        internal static CryptographicException CreateOpenSslException(string operation) => CreateOpenSslError(operation);

        private static string? ProbeLibCrypto()
        {
            if (!NativeLibrary.TryLoad(Libraries.LibCrypto, typeof(Crypto).Assembly, null, out nint handle))
            {
                return $"{Libraries.LibCrypto} could not be loaded: install OpenSSL 3 (Debian/Ubuntu: apt-get install libssl3)";
            }

            NativeLibrary.Free(handle);
            ulong version = OpenSslVersionNumber();
            if ((long)version < OpenSsl3VersionNumber)
            {
                return $"{Libraries.LibCrypto} reports OpenSSL version 0x{version:x}; OpenSSL 3.0 or later is required";
            }

            return null;
        }
    }
}
