using System.Globalization;
using System.Runtime.Intrinsics.X86;
using Tempus.Native;

namespace Tempus.Crypto;

/// <summary>
/// Which implementation runs each primitive on this machine, for <c>tempusd --version</c> (as <c>chronyd -v</c> lists its
/// compiled-in features) and for benchmark reports: a NativeAOT build compiled without AES-NI, or a CPU without it,
/// falls back to OpenSSL's AES, correct but slower, and this is where that shows.
/// </summary>
public static class CryptoImplementation
{
    /// <summary>True when AES-SIV, AES-CMAC and AES-GCM-SIV run AES on the CPU's AES-NI instructions.</summary>
    public static bool AesNi => Crypto.AesNi.IsSupported;

    /// <summary>True when POLYVAL (AES-GCM-SIV) runs on carry-less multiplication (PCLMULQDQ).</summary>
    public static bool CarrylessMultiply => Pclmulqdq.IsSupported;

    /// <summary>The OpenSSL libcrypto in use as "3.0.19", or why there is none.</summary>
    public static string OpenSslVersion
    {
        get
        {
            if (!Interop.Crypto.IsSupported)
            {
                return "unavailable";
            }

            // OPENSSL_VERSION_NUMBER since 3.0: 0xMNN00PP0.
            ulong v = Interop.Crypto.OpenSslVersion;
            return string.Create(CultureInfo.InvariantCulture, $"{(v >> 28) & 0xf}.{(v >> 20) & 0xff}.{(v >> 4) & 0xff}");
        }
    }

    /// <summary>chronyd -v style: "+AESNI +CLMUL OpenSSL 3.0.19", a minus for a missing acceleration.</summary>
    public static string Describe() =>
        $"{(AesNi ? '+' : '-')}AESNI {(CarrylessMultiply ? '+' : '-')}CLMUL OpenSSL {OpenSslVersion}";
}
