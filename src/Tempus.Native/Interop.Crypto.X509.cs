using System.Runtime.InteropServices;
using Tempus.Native;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        // <openssl/x509_vfy.h> verification results (X509_V_ERR_*) the TLS layer explains to users.
        internal const int X509_V_OK = 0;
        internal const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2;
        internal const int X509_V_ERR_CERT_NOT_YET_VALID = 9;
        internal const int X509_V_ERR_CERT_HAS_EXPIRED = 10;
        internal const int X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18;
        internal const int X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19;
        internal const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;
        internal const int X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21;
        internal const int X509_V_ERR_CERT_UNTRUSTED = 27;
        internal const int X509_V_ERR_HOSTNAME_MISMATCH = 62;
        internal const int X509_V_ERR_IP_ADDRESS_MISMATCH = 64;

        // <openssl/err.h>, <openssl/x509err.h>: a private key that is not the certificate's.
        internal const int ERR_LIB_X509 = 11;
        internal const int X509_R_KEY_TYPE_MISMATCH = 115;
        internal const int X509_R_KEY_VALUES_MISMATCH = 116;

        // X509_V_FLAG_NO_CHECK_TIME: skip notBefore/notAfter checks (chrony's nocerttimecheck).
        internal const ulong X509_V_FLAG_NO_CHECK_TIME = 0x200000;

        // <openssl/x509v3.h>: "*.example.com" matches, "w*.example.com" does not (RFC 6125 §6.4.3).
        internal const uint X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS = 0x4;

        // <openssl/x509.h> XN_FLAG_RFC2253 = ASN1_STRFLGS_RFC2253 | XN_FLAG_SEP_COMMA_PLUS | XN_FLAG_DN_REV
        //   | XN_FLAG_FN_SN | XN_FLAG_DUMP_UNKNOWN_FIELDS: "CN=localhost,O=Example".
        private const ulong XN_FLAG_RFC2253 = 0x317UL | (1UL << 16) | (1UL << 20) | (1UL << 24);

        /// <summary>
        /// Mirror of glibc's <c>struct tm</c> on 64-bit Linux (56 bytes), which ASN1_TIME_to_tm fills in UTC.
        /// The layout is asserted by Tempus.Native.Tests.
        /// </summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Tm
        {
            internal int TmSec;
            internal int TmMin;
            internal int TmHour;
            internal int TmMday;
            internal int TmMon;
            internal int TmYear;
            internal int TmWday;
            internal int TmYday;
            internal int TmIsdst;
            internal long TmGmtoff;
            internal nint TmZone;
        }

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_free")]
        internal static partial void X509Free(nint x509);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_up_ref")]
        internal static partial int X509UpRef(nint x509);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_get_subject_name")]
        private static partial nint X509GetSubjectName(SafeX509Handle x509);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_get_issuer_name")]
        private static partial nint X509GetIssuerName(SafeX509Handle x509);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_NAME_print_ex")]
        private static partial int X509NamePrintEx(SafeBioHandle bio, nint name, int indent, nuint flags);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_get0_notBefore")]
        private static partial nint X509Get0NotBefore(SafeX509Handle x509);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_get0_notAfter")]
        private static partial nint X509Get0NotAfter(SafeX509Handle x509);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "ASN1_TIME_to_tm")]
        private static partial int Asn1TimeToTm(nint time, out Tm tm);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_check_host", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int X509CheckHost(SafeX509Handle x509, string name, nuint nameLength, uint flags, nint peerName);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_verify_cert_error_string")]
        private static partial nint X509VerifyCertErrorString(nint error);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_VERIFY_PARAM_set1_ip_asc", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int X509VerifyParamSet1IpAsc(nint param, string ipAddress);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_VERIFY_PARAM_set_flags")]
        private static partial int X509VerifyParamSetFlagsNative(nint param, nuint flags);

        // X509_STORE_CTX exists only for the duration of a verify callback, so it is passed as the
        // borrowed pointer OpenSSL hands the callback; no SafeHandle can own it.
        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_STORE_CTX_get_ex_data")]
        internal static partial nint X509StoreCtxGetExData(nint storeCtx, int index);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_STORE_CTX_get_error")]
        internal static partial int X509StoreCtxGetError(nint storeCtx);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_STORE_CTX_get_error_depth")]
        internal static partial int X509StoreCtxGetErrorDepth(nint storeCtx);

        [LibraryImport(Libraries.LibCrypto, EntryPoint = "X509_STORE_CTX_get_current_cert")]
        internal static partial nint X509StoreCtxGetCurrentCert(nint storeCtx);

        /// <summary>X509_verify_cert_error_string: OpenSSL's text for a verification result, e.g. "certificate has expired".</summary>
        internal static string GetVerifyErrorString(long error) =>
            Marshal.PtrToStringUTF8(X509VerifyCertErrorString((nint)error)) ?? $"X509 verify error {error}";

        /// <summary>Reads subject, issuer and validity period of a certificate.</summary>
        internal static X509CertificateInfo GetCertificateInfo(SafeX509Handle x509)
        {
            bool added = false;
            try
            {
                // The X509_NAME and ASN1_TIME pointers below are interior to the X509; the reference
                // keeps it alive while they are read.
                x509.DangerousAddRef(ref added);
                return new X509CertificateInfo(
                    FormatName(X509GetSubjectName(x509)),
                    FormatName(X509GetIssuerName(x509)),
                    ToDateTimeOffset(X509Get0NotBefore(x509)),
                    ToDateTimeOffset(X509Get0NotAfter(x509)));
            }
            finally
            {
                if (added)
                {
                    x509.DangerousRelease();
                }
            }
        }

        /// <summary>X509_check_host: does the certificate's SAN (or CN, without SANs) match <paramref name="hostName"/>?</summary>
        internal static bool CertificateMatchesHost(SafeX509Handle x509, string hostName) =>
            X509CheckHost(x509, hostName, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, 0) == 1;

        /// <summary>X509_VERIFY_PARAM_set1_ip_asc on a parameter block borrowed from its SSL or SSL_CTX.</summary>
        internal static void X509VerifyParamSetIpAddress(nint param, string ipAddress)
        {
            ErrClearError();
            if (X509VerifyParamSet1IpAsc(param, ipAddress) != 1)
            {
                throw CreateOpenSslError("X509_VERIFY_PARAM_set1_ip_asc");
            }
        }

        /// <summary>X509_VERIFY_PARAM_set_flags on a parameter block borrowed from its SSL or SSL_CTX.</summary>
        internal static void X509VerifyParamSetFlags(nint param, ulong flags)
        {
            ErrClearError();
            if (X509VerifyParamSetFlagsNative(param, (nuint)flags) != 1)
            {
                throw CreateOpenSslError("X509_VERIFY_PARAM_set_flags");
            }
        }

        private static string FormatName(nint name)
        {
            if (name == 0)
            {
                return string.Empty;
            }

            using SafeBioHandle bio = CreateMemoryBio();
            if (X509NamePrintEx(bio, name, 0, (nuint)XN_FLAG_RFC2253) < 0)
            {
                ErrClearError();
                return string.Empty;
            }

            byte[] text = new byte[BioPending(bio)];
            int length = BioRead(bio, text);
            return System.Text.Encoding.UTF8.GetString(text, 0, length);
        }

        private static DateTimeOffset ToDateTimeOffset(nint asn1Time)
        {
            if (asn1Time == 0 || Asn1TimeToTm(asn1Time, out Tm tm) != 1)
            {
                ErrClearError();
                return DateTimeOffset.MinValue;
            }

            // struct tm counts years from 1900 and months from 0; ASN1_TIME_to_tm fills UTC. A leap
            // second (tm_sec 60) is clamped: DateTime cannot represent it.
            return new DateTimeOffset(
                tm.TmYear + 1900, tm.TmMon + 1, tm.TmMday, tm.TmHour, tm.TmMin, Math.Min(tm.TmSec, 59), TimeSpan.Zero);
        }
    }
}
