using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    /// <summary>OpenSSL 3 libssl: TLS 1.3 sessions over memory BIOs for NTS-KE.</summary>
    internal static partial class Ssl
    {
        // <openssl/ssl.h> SSL_get_error results.
        internal const int SSL_ERROR_NONE = 0;
        internal const int SSL_ERROR_SSL = 1;
        internal const int SSL_ERROR_WANT_READ = 2;
        internal const int SSL_ERROR_WANT_WRITE = 3;
        internal const int SSL_ERROR_SYSCALL = 5;
        internal const int SSL_ERROR_ZERO_RETURN = 6;

        // <openssl/sslerr.h> reasons (ERR_LIB_SSL) the TLS layer turns into advice.
        internal const int SSL_R_CERTIFICATE_VERIFY_FAILED = 134;
        internal const int SSL_R_PACKET_LENGTH_TOO_LONG = 198;
        internal const int SSL_R_CALLBACK_FAILED = 234;
        internal const int SSL_R_NO_APPLICATION_PROTOCOL = 235;
        internal const int SSL_R_UNSUPPORTED_PROTOCOL = 258;
        internal const int SSL_R_WRONG_VERSION_NUMBER = 267;
        internal const int SSL_R_UNEXPECTED_EOF_WHILE_READING = 294;

        /// <summary>SSL_AD_REASON_OFFSET: a received alert N is reported as reason 1000 + N.</summary>
        internal const int SSL_AD_REASON_OFFSET = 1000;
        internal const int SSL_AD_PROTOCOL_VERSION = 70;
        internal const int SSL_AD_INTERNAL_ERROR = 80;
        internal const int SSL_AD_NO_APPLICATION_PROTOCOL = 120;

        // <openssl/tls1.h>
        private const int TLSEXT_NAMETYPE_host_name = 0;
        private const int SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;

        // SSL_set_app_data / SSL_get_app_data use ex_data index 0; Tempus keeps its per-session callback state there.
        private const int AppDataIndex = 0;

        private static readonly Lazy<string?> s_unsupportedReason = new(ProbeLibSsl);

        // See Reuse.
        private static string? s_lastAlpn;
        private static string? s_lastServerName;
        private static string? s_lastCipher;
        private static string? s_lastVersion;

        /// <summary>True when libssl.so.3 and libcrypto.so.3 (OpenSSL 3.0 or later) can be used for NTS-KE.</summary>
        internal static bool IsSupported => s_unsupportedReason.Value is null;

        /// <summary>Why NTS-KE's TLS cannot run here, or null when it can.</summary>
        internal static string? UnsupportedReason => s_unsupportedReason.Value;

        /// <summary>Throws <see cref="PlatformNotSupportedException"/> with the reason when libssl is unusable.</summary>
        internal static void EnsureSupported()
        {
            if (s_unsupportedReason.Value is { } reason)
            {
                throw new PlatformNotSupportedException(reason);
            }
        }

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_new")]
        private static partial SafeSslHandle SslNewNative(SafeSslContextHandle ctx);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_free")]
        internal static partial void SslFree(nint ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_set_connect_state")]
        private static partial void SslSetConnectState(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_set_accept_state")]
        private static partial void SslSetAcceptState(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_set_bio")]
        private static partial void SslSetBioNative(SafeSslHandle ssl, SafeBioHandle readBio, SafeBioHandle writeBio);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_set_ex_data")]
        private static partial int SslSetExData(SafeSslHandle ssl, int index, nint data);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_ex_data")]
        private static partial nint SslGetExData(nint ssl, int index);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_ex_data_X509_STORE_CTX_idx")]
        private static partial int SslGetExDataX509StoreCtxIdx();

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_do_handshake")]
        private static partial int SslDoHandshakeNative(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_read_ex")]
        private static unsafe partial int SslReadExNative(SafeSslHandle ssl, byte* buffer, nuint length, out nuint read);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_write_ex")]
        private static unsafe partial int SslWriteExNative(SafeSslHandle ssl, byte* buffer, nuint length, out nuint written);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_shutdown")]
        private static partial int SslShutdownNative(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_error")]
        private static partial int SslGetError(SafeSslHandle ssl, int ret);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_ctrl", StringMarshalling = StringMarshalling.Utf8)]
        private static partial nint SslCtrlString(SafeSslHandle ssl, int cmd, nint larg, string parg);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_set1_host", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int SslSet1Host(SafeSslHandle ssl, string hostName);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_set_hostflags")]
        private static partial void SslSetHostFlags(SafeSslHandle ssl, uint flags);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get0_param")]
        private static partial nint SslGet0Param(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get0_alpn_selected")]
        private static partial void SslGet0AlpnSelected(SafeSslHandle ssl, out nint data, out uint length);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_verify_result")]
        private static partial nint SslGetVerifyResult(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get1_peer_certificate")]
        private static partial SafeX509Handle SslGet1PeerCertificate(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_export_keying_material")]
        private static unsafe partial int SslExportKeyingMaterialNative(
            SafeSslHandle ssl, byte* output, nuint outputLength, byte* label, nuint labelLength, byte* context, nuint contextLength, int useContext);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_servername")]
        private static partial nint SslGetServerName(SafeSslHandle ssl, int type);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_current_cipher")]
        private static partial nint SslGetCurrentCipher(SafeSslHandle ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CIPHER_get_name")]
        private static partial nint SslCipherGetName(nint cipher);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_version")]
        private static partial nint SslGetVersion(SafeSslHandle ssl);

        /// <summary>The result of one SSL I/O call on memory BIOs.</summary>
        internal enum SslStatus
        {
            /// <summary>The call completed.</summary>
            Ok,

            /// <summary>SSL_ERROR_WANT_READ: feed the input BIO with bytes from the peer, then call again.</summary>
            WantRead,

            /// <summary>SSL_ERROR_ZERO_RETURN: the peer sent close_notify.</summary>
            Closed,

            /// <summary>SSL_ERROR_SSL or SSL_ERROR_SYSCALL: the session is dead; the error says why.</summary>
            Error,
        }

        /// <summary>
        /// Creates the SSL object for one connection, wired to two memory BIOs: <paramref name="input"/> holds
        /// bytes received from the peer, <paramref name="output"/> collects bytes OpenSSL wants sent.
        /// </summary>
        internal static SafeSslHandle SslCreate(SafeSslContextHandle ctx, bool isServer, SslCallbackState state, out SafeBioHandle input, out SafeBioHandle output)
        {
            EnsureSupported();
            Crypto.ErrClearError();
            SafeSslHandle ssl = SslNewNative(ctx);
            if (ssl.IsInvalid)
            {
                ssl.Dispose();
                throw Crypto.CreateOpenSslError("SSL_new");
            }

            SafeBioHandle? readBio = null;
            SafeBioHandle? writeBio = null;
            try
            {
                ssl.Attach(ctx, state);
                if (SslSetExData(ssl, AppDataIndex, ssl.StateCookie) != 1)
                {
                    throw Crypto.CreateOpenSslError("SSL_set_ex_data");
                }

                readBio = Crypto.CreateMemoryBio();
                writeBio = Crypto.CreateMemoryBio();
                SslSetBioNative(ssl, readBio, writeBio);

                // SSL_set_bio transferred both BIOs to the SSL: SSL_free frees them. The handles stay
                // usable for BIO_read/BIO_write and keep the SSL alive until they are disposed.
                readBio.TransferOwnershipToParent(ssl);
                writeBio.TransferOwnershipToParent(ssl);

                if (isServer)
                {
                    SslSetAcceptState(ssl);
                }
                else
                {
                    SslSetConnectState(ssl);
                }

                input = readBio;
                output = writeBio;
                return ssl;
            }
            catch
            {
                readBio?.Dispose();
                writeBio?.Dispose();
                ssl.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Client: the name to send as SNI (SSL_set_tlsext_host_name, an SSL_ctrl macro) and to verify the
        /// certificate against (SSL_set1_host); an IP literal is verified against IP SANs and not sent as SNI
        /// (RFC 6066 §3 forbids literal addresses in server_name).
        /// </summary>
        internal static void SslSetExpectedPeer(SafeSslHandle ssl, string serverName, bool isIpAddress)
        {
            Crypto.ErrClearError();
            if (isIpAddress)
            {
                bool added = false;
                try
                {
                    // SSL_get0_param lends the SSL's own parameter block; the reference keeps it alive.
                    ssl.DangerousAddRef(ref added);
                    Crypto.X509VerifyParamSetIpAddress(SslGet0Param(ssl), serverName);
                }
                finally
                {
                    if (added)
                    {
                        ssl.DangerousRelease();
                    }
                }

                return;
            }

            if (SslCtrlString(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, serverName) != 1)
            {
                throw Crypto.CreateOpenSslError("SSL_set_tlsext_host_name");
            }

            SslSetHostFlags(ssl, Crypto.X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SslSet1Host(ssl, serverName) != 1)
            {
                throw Crypto.CreateOpenSslError("SSL_set1_host");
            }
        }

        /// <summary>One step of the handshake (SSL_do_handshake).</summary>
        internal static SslStatus SslDoHandshake(SafeSslHandle ssl, out OpenSslException? error)
        {
            Crypto.ErrClearError();
            int ret = SslDoHandshakeNative(ssl);
            if (ret == 1)
            {
                error = null;
                return SslStatus.Ok;
            }

            return GetStatus(ssl, ret, "SSL_do_handshake", out error);
        }

        /// <summary>SSL_read_ex into <paramref name="buffer"/>.</summary>
        internal static unsafe SslStatus SslRead(SafeSslHandle ssl, Span<byte> buffer, out int read, out OpenSslException? error)
        {
            Crypto.ErrClearError();
            int ret;
            nuint count;
            fixed (byte* ptr = buffer)
            {
                ret = SslReadExNative(ssl, ptr, (nuint)buffer.Length, out count);
            }

            read = (int)count;
            if (ret == 1)
            {
                error = null;
                return SslStatus.Ok;
            }

            return GetStatus(ssl, ret, "SSL_read_ex", out error);
        }

        /// <summary>SSL_write_ex of all of <paramref name="buffer"/>; with a memory BIO the whole buffer is always taken.</summary>
        internal static unsafe SslStatus SslWrite(SafeSslHandle ssl, ReadOnlySpan<byte> buffer, out OpenSslException? error)
        {
            Crypto.ErrClearError();
            int ret;
            nuint written;
            fixed (byte* ptr = buffer)
            {
                ret = SslWriteExNative(ssl, ptr, (nuint)buffer.Length, out written);
            }

            if (ret == 1 && written == (nuint)buffer.Length)
            {
                error = null;
                return SslStatus.Ok;
            }

            return GetStatus(ssl, ret, "SSL_write_ex", out error);
        }

        /// <summary>
        /// Queues our close_notify (SSL_shutdown). Tempus does not wait for the peer's: RFC 8446 §6.1 lets
        /// a party close its side once it has sent close_notify.
        /// </summary>
        internal static SslStatus SslShutdown(SafeSslHandle ssl, out OpenSslException? error)
        {
            Crypto.ErrClearError();
            int ret = SslShutdownNative(ssl);
            if (ret >= 0)
            {
                error = null;
                return SslStatus.Ok;
            }

            return GetStatus(ssl, ret, "SSL_shutdown", out error);
        }

        /// <summary>The ALPN protocol the handshake agreed on, or null.</summary>
        internal static unsafe string? SslGetAlpnSelected(SafeSslHandle ssl)
        {
            bool added = false;
            try
            {
                // The returned bytes live inside the SSL; the reference keeps them alive while copied.
                ssl.DangerousAddRef(ref added);
                SslGet0AlpnSelected(ssl, out nint data, out uint length);
                return data == 0 || length == 0 ? null : Reuse(ref s_lastAlpn, new ReadOnlySpan<byte>((void*)data, (int)length));
            }
            finally
            {
                if (added)
                {
                    ssl.DangerousRelease();
                }
            }
        }

        /// <summary>SSL_get_verify_result: X509_V_OK or the X509_V_ERR_* that failed the peer's certificate.</summary>
        internal static long SslGetVerifyResultCode(SafeSslHandle ssl) => SslGetVerifyResult(ssl);

        /// <summary>The peer's leaf certificate, or null when it sent none.</summary>
        internal static X509CertificateInfo? SslGetPeerCertificateInfo(SafeSslHandle ssl)
        {
            using SafeX509Handle cert = SslGet1PeerCertificate(ssl);
            return cert.IsInvalid ? null : Crypto.GetCertificateInfo(cert);
        }

        /// <summary>
        /// RFC 8446 §7.5 / RFC 5705 exporter with a context (use_context = 1): fills <paramref name="output"/>
        /// with keying material bound to this session, <paramref name="label"/> and <paramref name="context"/>.
        /// </summary>
        internal static unsafe void SslExportKeyingMaterial(SafeSslHandle ssl, ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, Span<byte> output)
        {
            Crypto.ErrClearError();

            // A zero-length context still needs a non-null pointer: OpenSSL treats NULL as "no context".
            byte empty = 0;
            fixed (byte* outputPtr = output)
            fixed (byte* labelPtr = label)
            fixed (byte* contextPtr = context)
            {
                byte* ctx = context.IsEmpty ? &empty : contextPtr;
                if (SslExportKeyingMaterialNative(ssl, outputPtr, (nuint)output.Length, labelPtr, (nuint)label.Length, ctx, (nuint)context.Length, 1) != 1)
                {
                    throw Crypto.CreateOpenSslError("SSL_export_keying_material");
                }
            }
        }

        /// <summary>The SNI name: the one a client sent, or the one it was told to send.</summary>
        internal static unsafe string? SslGetServerNameIndication(SafeSslHandle ssl)
        {
            bool added = false;
            try
            {
                ssl.DangerousAddRef(ref added);
                nint name = SslGetServerName(ssl, TLSEXT_NAMETYPE_host_name);
                return name == 0 ? null : Reuse(ref s_lastServerName, MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)name));
            }
            finally
            {
                if (added)
                {
                    ssl.DangerousRelease();
                }
            }
        }

        /// <summary>The negotiated cipher suite's IANA-style name, e.g. TLS_AES_256_GCM_SHA384.</summary>
        internal static unsafe string? SslGetCipherName(SafeSslHandle ssl)
        {
            // SSL_CIPHER objects are static tables: never freed.
            nint cipher = SslGetCurrentCipher(ssl);
            nint name = cipher == 0 ? 0 : SslCipherGetName(cipher);
            return name == 0 ? null : Reuse(ref s_lastCipher, MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)name));
        }

        /// <summary>The negotiated protocol version, e.g. "TLSv1.3" (a static string).</summary>
        internal static unsafe string? SslGetProtocolVersion(SafeSslHandle ssl)
        {
            nint version = SslGetVersion(ssl);
            return version == 0 ? null : Reuse(ref s_lastVersion, MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)version));
        }

        // A server asks for these four names after every handshake, and they are nearly always the same as last time:
        // the last string made is handed out again when the bytes match it, rather than a new string per handshake.
        // Strings are immutable, so threads racing on a slot only ever see a whole one; a miss makes a new string.
        private static string Reuse(ref string? last, ReadOnlySpan<byte> utf8)
        {
            string? known = Volatile.Read(ref last);
            if (known is not null && System.Text.Ascii.Equals(utf8, known))
            {
                return known;
            }

            string made = System.Text.Encoding.UTF8.GetString(utf8);
            Volatile.Write(ref last, made);
            return made;
        }

        private static SslStatus GetStatus(SafeSslHandle ssl, int ret, string operation, out OpenSslException? error)
        {
            // SSL_get_error reads the thread's error queue, so it runs before anything else can touch it.
            int code = SslGetError(ssl, ret);
            switch (code)
            {
                case SSL_ERROR_WANT_READ:
                    Crypto.ErrClearError();
                    error = null;
                    return SslStatus.WantRead;
                case SSL_ERROR_ZERO_RETURN:
                    Crypto.ErrClearError();
                    error = null;
                    return SslStatus.Closed;
                default:
                    OpenSslException drained = Crypto.CreateOpenSslError(operation);
                    error = new OpenSslException(operation, drained.Errors) { SslError = code };
                    return SslStatus.Error;
            }
        }

        /// <summary>The state object a session registered with SSL_set_ex_data, seen from inside a callback.</summary>
        private static SslCallbackState? GetCallbackState(nint ssl)
        {
            nint cookie = ssl == 0 ? 0 : SslGetExData(ssl, AppDataIndex);
            return cookie == 0 ? null : GCHandle.FromIntPtr(cookie).Target as SslCallbackState;
        }

        private static string? ProbeLibSsl()
        {
            if (Crypto.UnsupportedReason is { } cryptoReason)
            {
                return cryptoReason;
            }

            if (!NativeLibrary.TryLoad(Libraries.LibSsl, typeof(Ssl).Assembly, null, out nint handle))
            {
                return $"{Libraries.LibSsl} could not be loaded: install OpenSSL 3 (Debian/Ubuntu: apt-get install libssl3)";
            }

            try
            {
                // The exporter is why NTS-KE uses OpenSSL directly (SslStream cannot export keying material).
                foreach (string export in (ReadOnlySpan<string>)["SSL_export_keying_material", "SSL_CTX_set_alpn_select_cb", "SSL_read_ex", "SSL_set1_host"])
                {
                    if (!NativeLibrary.TryGetExport(handle, export, out _))
                    {
                        return $"{Libraries.LibSsl} has no {export}; OpenSSL 3.0 or later is required";
                    }
                }
            }
            finally
            {
                NativeLibrary.Free(handle);
            }

            return null;
        }
    }
}
