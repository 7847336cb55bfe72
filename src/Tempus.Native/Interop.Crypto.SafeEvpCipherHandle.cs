using Microsoft.Win32.SafeHandles;

namespace Tempus.Native;

/// <summary>
/// Owns one fetched OpenSSL <c>EVP_CIPHER</c> (EVP_CIPHER_fetch). The static tables returned by
/// EVP_aes_* are not fetched and need no handle.
/// </summary>
internal sealed class SafeEvpCipherHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Called by the LibraryImport marshaller for EVP_CIPHER_fetch.</summary>
    public SafeEvpCipherHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.EvpCipherFree(handle);
        return true;
    }
}
