using Microsoft.Win32.SafeHandles;

namespace Tempus.Native;

/// <summary>Owns one OpenSSL <c>EVP_CIPHER_CTX</c>; freeing it also wipes the key schedule it holds.</summary>
internal sealed class SafeEvpCipherCtxHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Called by the LibraryImport marshaller for EVP_CIPHER_CTX_new.</summary>
    public SafeEvpCipherCtxHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.EvpCipherCtxFree(handle);
        return true;
    }
}
