using Microsoft.Win32.SafeHandles;

namespace Tempus.Native;

/// <summary>
/// Owns one OpenSSL <c>EVP_MD_CTX</c>. Freeing it frees the provider's digest state with
/// OPENSSL_clear_free, so nothing it last hashed survives in freed memory.
/// </summary>
internal sealed class SafeEvpMdCtxHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Called by the LibraryImport marshaller for EVP_MD_CTX_new.</summary>
    public SafeEvpMdCtxHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.EvpMdCtxFree(handle);
        return true;
    }
}
