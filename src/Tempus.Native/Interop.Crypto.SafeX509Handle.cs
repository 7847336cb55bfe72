using Microsoft.Win32.SafeHandles;

namespace Tempus.Native;

/// <summary>Owns one reference on an OpenSSL <c>X509</c> (X509_free drops it).</summary>
internal sealed class SafeX509Handle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Called by the LibraryImport marshaller for SSL_get1_peer_certificate.</summary>
    public SafeX509Handle()
        : base(ownsHandle: true)
    {
    }

    private SafeX509Handle(nint handle)
        : base(ownsHandle: true)
    {
        SetHandle(handle);
    }

    /// <summary>
    /// Takes a reference of its own (X509_up_ref) on a certificate OpenSSL only lent us
    /// (SSL_CTX_get0_certificate, X509_STORE_CTX_get_current_cert), so it outlives the lender.
    /// </summary>
    internal static SafeX509Handle FromBorrowed(nint x509)
    {
        if (x509 == 0 || Interop.Crypto.X509UpRef(x509) != 1)
        {
            return new SafeX509Handle();
        }

        return new SafeX509Handle(x509);
    }

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.X509Free(handle);
        return true;
    }
}
