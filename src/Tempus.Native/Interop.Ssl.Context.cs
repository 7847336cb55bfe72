using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Ssl
    {
        // <openssl/tls1.h>, <openssl/ssl.h>
        private const int TLS1_3_VERSION = 0x0304;
        private const int SSL_CTRL_SET_SESS_CACHE_MODE = 44;
        private const int SSL_CTRL_MODE = 33;
        private const long SSL_MODE_NO_AUTO_CHAIN = 0x8;
        private const int SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
        private const int SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
        private const int SSL_SESS_CACHE_OFF = 0;
        private const int SSL_FILETYPE_PEM = 1;
        private const int SSL_VERIFY_NONE = 0;
        private const int SSL_VERIFY_PEER = 1;
        private const ulong SSL_OP_NO_TICKET = 1UL << 14;
        private const ulong SSL_OP_NO_COMPRESSION = 1UL << 17;
        private const ulong SSL_OP_CIPHER_SERVER_PREFERENCE = 1UL << 22;
        private const ulong SSL_OP_NO_RENEGOTIATION = 1UL << 30;

        [LibraryImport(Libraries.LibSsl, EntryPoint = "TLS_client_method")]
        private static partial nint TlsClientMethod();

        [LibraryImport(Libraries.LibSsl, EntryPoint = "TLS_server_method")]
        private static partial nint TlsServerMethod();

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_new")]
        private static partial SafeSslContextHandle SslCtxNew(nint method);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_free")]
        internal static partial void SslCtxFree(nint ctx);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_ctrl")]
        private static partial nint SslCtxCtrl(SafeSslContextHandle ctx, int cmd, nint larg, nint parg);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_set_options")]
        private static partial ulong SslCtxSetOptions(SafeSslContextHandle ctx, ulong options);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_set_num_tickets")]
        private static partial int SslCtxSetNumTickets(SafeSslContextHandle ctx, nuint count);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_set_verify")]
        private static unsafe partial void SslCtxSetVerifyNative(SafeSslContextHandle ctx, int mode, delegate* unmanaged<int, nint, int> callback);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_set_default_verify_paths")]
        private static partial int SslCtxSetDefaultVerifyPathsNative(SafeSslContextHandle ctx);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_load_verify_file", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int SslCtxLoadVerifyFileNative(SafeSslContextHandle ctx, string path);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_get0_param")]
        private static partial nint SslCtxGet0Param(SafeSslContextHandle ctx);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_use_certificate_chain_file", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int SslCtxUseCertificateChainFileNative(SafeSslContextHandle ctx, string path);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_use_PrivateKey_file", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int SslCtxUsePrivateKeyFileNative(SafeSslContextHandle ctx, string path, int type);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_check_private_key")]
        private static partial int SslCtxCheckPrivateKeyNative(SafeSslContextHandle ctx);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_get0_certificate")]
        private static partial nint SslCtxGet0Certificate(SafeSslContextHandle ctx);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_set_alpn_protos")]
        private static unsafe partial int SslCtxSetAlpnProtosNative(SafeSslContextHandle ctx, byte* protocols, uint length);

        /// <summary>Creates an SSL_CTX that negotiates TLS 1.3 and nothing else.</summary>
        internal static SafeSslContextHandle SslCtxCreate(bool isServer)
        {
            EnsureSupported();
            Crypto.ErrClearError();
            SafeSslContextHandle ctx = SslCtxNew(isServer ? TlsServerMethod() : TlsClientMethod());
            if (ctx.IsInvalid)
            {
                ctx.Dispose();
                throw Crypto.CreateOpenSslError("SSL_CTX_new");
            }

            try
            {
                // RFC 8915 §3: implementations MUST NOT negotiate TLS versions earlier than 1.3.
                // SSL_CTX_set_min/max_proto_version are SSL_CTX_ctrl macros.
                if (SslCtxCtrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION, 0) != 1)
                {
                    throw Crypto.CreateOpenSslError("SSL_CTX_set_min_proto_version");
                }

                if (SslCtxCtrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_3_VERSION, 0) != 1)
                {
                    throw Crypto.CreateOpenSslError("SSL_CTX_set_max_proto_version");
                }

                // SSL_CTX_set_options is a function since OpenSSL 3.0 (a ctrl macro before).
                // An NTS-KE session is one request and one response: no resumption, so no tickets.
                ulong options = SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
                if (isServer)
                {
                    options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
                }

                SslCtxSetOptions(ctx, options);

                if (isServer)
                {
                    // TLS 1.3 servers send session tickets after the handshake by default; NTS-KE never resumes.
                    if (SslCtxSetNumTickets(ctx, 0) != 1)
                    {
                        throw Crypto.CreateOpenSslError("SSL_CTX_set_num_tickets");
                    }

                    SslCtxCtrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, 0);

                    // Send the chain as configured (the certificate file: leaf, then intermediates). Without this,
                    // OpenSSL rebuilds and verifies a chain from the context's trust store on every handshake when
                    // the file holds the leaf alone (SSL_CTX_set_mode is an SSL_CTX_ctrl macro).
                    SslCtxCtrl(ctx, SSL_CTRL_MODE, (nint)SSL_MODE_NO_AUTO_CHAIN, 0);
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
        /// Client: SSL_VERIFY_PEER, so the handshake fails on an unverifiable certificate; the callback only
        /// records the first failure (error, depth, certificate) for the message, it never changes the verdict.
        /// </summary>
        internal static unsafe void SslCtxSetVerifyPeer(SafeSslContextHandle ctx) =>
            SslCtxSetVerifyNative(ctx, SSL_VERIFY_PEER, &VerifyCallback);

        /// <summary>Server: no client certificates (NTS-KE clients are anonymous).</summary>
        internal static unsafe void SslCtxSetVerifyNone(SafeSslContextHandle ctx) =>
            SslCtxSetVerifyNative(ctx, SSL_VERIFY_NONE, null);

        /// <summary>Trusts the system CA store (SSL_CTX_set_default_verify_paths; chrony's default, off with nosystemcert).</summary>
        internal static void SslCtxSetDefaultVerifyPaths(SafeSslContextHandle ctx)
        {
            Crypto.ErrClearError();
            if (SslCtxSetDefaultVerifyPathsNative(ctx) != 1)
            {
                throw Crypto.CreateOpenSslError("SSL_CTX_set_default_verify_paths");
            }
        }

        /// <summary>Trusts every certificate in a PEM file (SSL_CTX_load_verify_file).</summary>
        internal static void SslCtxLoadVerifyFile(SafeSslContextHandle ctx, string path)
        {
            Crypto.ErrClearError();
            if (SslCtxLoadVerifyFileNative(ctx, path) != 1)
            {
                throw Crypto.CreateOpenSslError("SSL_CTX_load_verify_file");
            }
        }

        /// <summary>Adds X509_VERIFY_PARAM flags (e.g. X509_V_FLAG_NO_CHECK_TIME) to every session of the context.</summary>
        internal static void SslCtxSetVerifyFlags(SafeSslContextHandle ctx, ulong flags)
        {
            bool added = false;
            try
            {
                // SSL_CTX_get0_param lends the context's own parameter block; the reference keeps it alive.
                ctx.DangerousAddRef(ref added);
                Crypto.X509VerifyParamSetFlags(SslCtxGet0Param(ctx), flags);
            }
            finally
            {
                if (added)
                {
                    ctx.DangerousRelease();
                }
            }
        }

        /// <summary>Loads the server certificate followed by its intermediates from one PEM file.</summary>
        internal static void SslCtxUseCertificateChainFile(SafeSslContextHandle ctx, string path)
        {
            Crypto.ErrClearError();
            if (SslCtxUseCertificateChainFileNative(ctx, path) != 1)
            {
                throw Crypto.CreateOpenSslError("SSL_CTX_use_certificate_chain_file");
            }
        }

        /// <summary>Loads the PEM private key matching the certificate, and checks that they match.</summary>
        internal static void SslCtxUsePrivateKeyFile(SafeSslContextHandle ctx, string path)
        {
            Crypto.ErrClearError();
            if (SslCtxUsePrivateKeyFileNative(ctx, path, SSL_FILETYPE_PEM) != 1)
            {
                throw Crypto.CreateOpenSslError("SSL_CTX_use_PrivateKey_file");
            }

            if (SslCtxCheckPrivateKeyNative(ctx) != 1)
            {
                throw Crypto.CreateOpenSslError("SSL_CTX_check_private_key");
            }
        }

        /// <summary>The context's own certificate (an owned reference), for SNI matching and diagnostics.</summary>
        internal static SafeX509Handle SslCtxGetCertificate(SafeSslContextHandle ctx)
        {
            bool added = false;
            try
            {
                ctx.DangerousAddRef(ref added);
                return SafeX509Handle.FromBorrowed(SslCtxGet0Certificate(ctx));
            }
            finally
            {
                if (added)
                {
                    ctx.DangerousRelease();
                }
            }
        }

        /// <summary>
        /// Client: offer these protocols in ALPN. <paramref name="wireProtocols"/> is the RFC 7301 §3.1
        /// wire form, each name preceded by its one-byte length.
        /// </summary>
        internal static unsafe void SslCtxSetAlpnProtocols(SafeSslContextHandle ctx, ReadOnlySpan<byte> wireProtocols)
        {
            Crypto.ErrClearError();
            fixed (byte* ptr = wireProtocols)
            {
                // Unlike almost every other OpenSSL call, SSL_CTX_set_alpn_protos returns 0 on success.
                if (SslCtxSetAlpnProtosNative(ctx, ptr, (uint)wireProtocols.Length) != 0)
                {
                    throw Crypto.CreateOpenSslError("SSL_CTX_set_alpn_protos");
                }
            }
        }
    }
}
