using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tempus.Native;

/// <summary>
/// Owns one OpenSSL <c>BIO</c>. After SSL_set_bio (<see cref="Interop.Ssl.SslCreate"/>) the SSL object owns the BIO
/// (SSL_free frees it); the handle then keeps the SSL alive instead of freeing the BIO itself, the
/// pattern of dotnet/runtime's SafeBioHandle.TransferOwnershipToParent.
/// </summary>
internal sealed class SafeBioHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private SafeHandle? _parent;

    /// <summary>Called by the LibraryImport marshaller for BIO_new.</summary>
    public SafeBioHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>Records that <paramref name="parent"/> now frees this BIO; this handle holds a reference on the parent instead.</summary>
    internal void TransferOwnershipToParent(SafeHandle parent)
    {
        bool added = false;
        parent.DangerousAddRef(ref added);
        _parent = parent;
    }

    protected override bool ReleaseHandle()
    {
        if (_parent is { } parent)
        {
            // The SSL frees this BIO in SSL_free; only drop the reference that kept the SSL alive.
            parent.DangerousRelease();
        }
        else
        {
            return Interop.Crypto.BioFree(handle) == 1;
        }

        return true;
    }
}
