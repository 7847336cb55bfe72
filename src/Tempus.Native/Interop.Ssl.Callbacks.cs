using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Ssl
    {
        // <openssl/ssl.h>, <openssl/tls1.h>
        private const int SSL_TLSEXT_ERR_OK = 0;
        private const int SSL_TLSEXT_ERR_ALERT_FATAL = 2;
        private const int SSL_CLIENT_HELLO_SUCCESS = 1;
        private const int SSL_CLIENT_HELLO_ERROR = 0;
        private const uint TLSEXT_TYPE_application_layer_protocol_negotiation = 16;
        private const int SSL_CTRL_SET_TLSEXT_SERVERNAME_CB = 53;
        private const int SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG = 54;

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_set_alpn_select_cb")]
        private static unsafe partial void SslCtxSetAlpnSelectCb(
            SafeSslContextHandle ctx, delegate* unmanaged<nint, byte**, byte*, byte*, uint, nint, int> callback, nint arg);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_set_client_hello_cb")]
        private static unsafe partial void SslCtxSetClientHelloCb(SafeSslContextHandle ctx, delegate* unmanaged<nint, int*, nint, int> callback, nint arg);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_callback_ctrl")]
        private static unsafe partial nint SslCtxCallbackCtrl(SafeSslContextHandle ctx, int cmd, delegate* unmanaged<nint, int*, nint, int> callback);

        // The imports below take the SSL* / SSL_CTX* OpenSSL passes a callback: they are only valid
        // while the callback runs, so no SafeHandle owns them.
        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_client_hello_get0_ext")]
        private static unsafe partial int SslClientHelloGet0Ext(nint ssl, uint type, byte** data, nuint* length);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_servername")]
        private static partial nint SslGetServerNameInCallback(nint ssl, int type);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_get_SSL_CTX")]
        private static partial nint SslGetSslCtx(nint ssl);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_set_SSL_CTX")]
        private static partial nint SslSetSslCtx(nint ssl, nint ctx);

        [LibraryImport(Libraries.LibSsl, EntryPoint = "SSL_CTX_get0_certificate")]
        private static partial nint SslCtxGet0CertificateInCallback(nint ctx);

        /// <summary>
        /// Server: accept only the protocols in <paramref name="wireProtocols"/> (RFC 7301 wire form) and
        /// abort the handshake with a no_application_protocol alert when the client offers none of them
        /// (RFC 7301 §3.2), including when it sends no ALPN extension at all (RFC 8915 §4: the client
        /// offers ntske/1). OpenSSL skips the select callback when ALPN is absent, so a client-hello
        /// callback catches that case.
        /// </summary>
        internal static unsafe void SslCtxRequireAlpn(SafeSslContextHandle ctx, ReadOnlySpan<byte> wireProtocols)
        {
            // The native copy is owned by the context handle and freed after SSL_CTX_free.
            nint list = ctx.SetAlpnServerList(wireProtocols);
            SslCtxSetAlpnSelectCb(ctx, &AlpnSelectCallback, list);
            SslCtxSetClientHelloCb(ctx, &ClientHelloCallback, 0);
        }

        /// <summary>
        /// Server with several certificates: on a ClientHello with SNI, switch the session to the first of
        /// <paramref name="primary"/> and <paramref name="alternatives"/> whose certificate matches the name
        /// (X509_check_host); without SNI, or when none matches, the session stays on <paramref name="primary"/>.
        /// </summary>
        internal static unsafe void SslCtxSetServerNameAlternatives(SafeSslContextHandle primary, SafeSslContextHandle[] alternatives)
        {
            // The primary context now holds a reference on each alternative and frees the GCHandle last.
            nint cookie = primary.SetServerNameAlternatives(alternatives);

            // SSL_CTX_set_tlsext_servername_callback and _arg are SSL_CTX_callback_ctrl/SSL_CTX_ctrl macros.
            SslCtxCallbackCtrl(primary, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, &ServerNameCallback);
            SslCtxCtrl(primary, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, cookie);
        }

        [UnmanagedCallersOnly]
        private static int VerifyCallback(int preverifyOk, nint storeCtx)
        {
            if (preverifyOk == 1)
            {
                return 1;
            }

            try
            {
                nint ssl = Crypto.X509StoreCtxGetExData(storeCtx, SslGetExDataX509StoreCtxIdx());
                if (GetCallbackState(ssl) is { FirstVerifyFailure: null } state)
                {
                    int error = Crypto.X509StoreCtxGetError(storeCtx);
                    int depth = Crypto.X509StoreCtxGetErrorDepth(storeCtx);
                    using SafeX509Handle cert = SafeX509Handle.FromBorrowed(Crypto.X509StoreCtxGetCurrentCert(storeCtx));
                    X509CertificateInfo? info = cert.IsInvalid ? null : Crypto.GetCertificateInfo(cert);
                    state.FirstVerifyFailure = new X509VerifyFailure(error, depth, info);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Diagnostics only: an exception must not cross into OpenSSL, and the verdict stays OpenSSL's.
            }

            return preverifyOk;
        }

        [UnmanagedCallersOnly]
        private static unsafe int AlpnSelectCallback(nint ssl, byte** selected, byte* selectedLength, byte* offered, uint offeredLength, nint arg)
        {
            byte* accepted = (byte*)arg;
            var acceptedList = new ReadOnlySpan<byte>(accepted + 2, (accepted[0] << 8) | accepted[1]);
            var offeredList = new ReadOnlySpan<byte>(offered, (int)offeredLength);

            // RFC 7301 §3.2: the server picks by its own preference among what the client offered.
            for (int a = 0; a < acceptedList.Length;)
            {
                int acceptedNameLength = acceptedList[a];
                ReadOnlySpan<byte> acceptedName = acceptedList.Slice(a + 1, acceptedNameLength);
                for (int o = 0; o < offeredList.Length;)
                {
                    int nameLength = offeredList[o];
                    if (o + 1 + nameLength > offeredList.Length)
                    {
                        break;
                    }

                    if (offeredList.Slice(o + 1, nameLength).SequenceEqual(acceptedName))
                    {
                        // Points into the client's list; OpenSSL copies the selection before the list goes away.
                        *selected = offered + o + 1;
                        *selectedLength = (byte)nameLength;
                        return SSL_TLSEXT_ERR_OK;
                    }

                    o += 1 + nameLength;
                }

                a += 1 + acceptedNameLength;
            }

            try
            {
                if (GetCallbackState(ssl) is { } state)
                {
                    state.RejectedAlpnOffer = DescribeAlpnList(offeredList);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Diagnostics only.
            }

            // OpenSSL answers SSL_TLSEXT_ERR_ALERT_FATAL with the no_application_protocol alert.
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }

        [UnmanagedCallersOnly]
        private static unsafe int ClientHelloCallback(nint ssl, int* alert, nint arg)
        {
            byte* data;
            nuint length;
            if (SslClientHelloGet0Ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &data, &length) == 1)
            {
                return SSL_CLIENT_HELLO_SUCCESS;
            }

            try
            {
                if (GetCallbackState(ssl) is { } state)
                {
                    state.ClientOfferedNoAlpn = true;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Diagnostics only.
            }

            *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
            return SSL_CLIENT_HELLO_ERROR;
        }

        [UnmanagedCallersOnly]
        private static unsafe int ServerNameCallback(nint ssl, int* alert, nint arg)
        {
            try
            {
                string? name = Marshal.PtrToStringUTF8(SslGetServerNameInCallback(ssl, TLSEXT_NAMETYPE_host_name));
                if (string.IsNullOrEmpty(name) || MatchesCertificate(SslGetSslCtx(ssl), name))
                {
                    return SSL_TLSEXT_ERR_OK;
                }

                var alternatives = (SafeSslContextHandle[])GCHandle.FromIntPtr(arg).Target!;
                foreach (SafeSslContextHandle alternative in alternatives)
                {
                    // The primary context holds a reference on every alternative, so the pointer is live.
                    nint candidate = alternative.DangerousGetHandle();
                    if (MatchesCertificate(candidate, name))
                    {
                        // SSL_set_SSL_CTX takes its own reference on the new context.
                        SslSetSslCtx(ssl, candidate);
                        break;
                    }
                }

                return SSL_TLSEXT_ERR_OK;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                *alert = SSL_AD_INTERNAL_ERROR;
                return SSL_TLSEXT_ERR_ALERT_FATAL;
            }
        }

        private static bool MatchesCertificate(nint ctx, string name)
        {
            using SafeX509Handle cert = SafeX509Handle.FromBorrowed(SslCtxGet0CertificateInCallback(ctx));
            return !cert.IsInvalid && Crypto.CertificateMatchesHost(cert, name);
        }

        private static string DescribeAlpnList(ReadOnlySpan<byte> list)
        {
            var names = new List<string>();
            for (int i = 0; i < list.Length;)
            {
                int length = list[i];
                if (i + 1 + length > list.Length)
                {
                    break;
                }

                names.Add(System.Text.Encoding.ASCII.GetString(list.Slice(i + 1, length)));
                i += 1 + length;
            }

            return string.Join(", ", names);
        }
    }
}
