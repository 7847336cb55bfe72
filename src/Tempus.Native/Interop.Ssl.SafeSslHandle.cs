using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tempus.Native;

/// <summary>
/// Owns one OpenSSL <c>SSL</c> (one TLS connection), the two memory BIOs SSL_set_bio gave it, and the
/// <see cref="SslCallbackState"/> its callbacks fill. Holds a reference on its <see cref="SafeSslContextHandle"/>.
/// </summary>
internal sealed class SafeSslHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private SafeSslContextHandle? _context;
    private GCHandle _state;

    /// <summary>Called by the LibraryImport marshaller for SSL_new.</summary>
    public SafeSslHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>What the verify, ALPN and client-hello callbacks recorded for this connection.</summary>
    internal SslCallbackState State => (SslCallbackState)_state.Target!;

    /// <summary>The GCHandle cookie stored with SSL_set_ex_data so callbacks can find <see cref="State"/>.</summary>
    internal nint StateCookie => GCHandle.ToIntPtr(_state);

    internal void Attach(SafeSslContextHandle context, SslCallbackState state)
    {
        bool added = false;
        context.DangerousAddRef(ref added);
        _context = context;
        _state = GCHandle.Alloc(state);
    }

    protected override bool ReleaseHandle()
    {
        Interop.Ssl.SslFree(handle);

        // Only after SSL_free can no callback run for this connection any more.
        if (_state.IsAllocated)
        {
            _state.Free();
        }

        _context?.DangerousRelease();
        return true;
    }
}
