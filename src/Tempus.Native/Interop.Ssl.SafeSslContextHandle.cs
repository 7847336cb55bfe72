using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tempus.Native;

/// <summary>
/// Owns one OpenSSL <c>SSL_CTX</c> and the native state its callbacks read: the server's ALPN list and
/// the SNI selector. Every <see cref="SafeSslHandle"/> holds a reference on its context, so that state
/// outlives every session that can still call back into it.
/// </summary>
internal sealed class SafeSslContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private unsafe byte* _alpnServerList;
    private GCHandle _serverNameSelector;
    private SafeSslContextHandle[]? _alternatives;

    /// <summary>Called by the LibraryImport marshaller for SSL_CTX_new.</summary>
    public SafeSslContextHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>The server's accepted ALPN protocols (wire form, 16-bit length prefix), or null.</summary>
    internal unsafe byte* AlpnServerList => _alpnServerList;

    /// <summary>Keeps a native copy of the accepted ALPN list for the select callback; freed with the context.</summary>
    internal unsafe nint SetAlpnServerList(ReadOnlySpan<byte> wireProtocols)
    {
        if (_alpnServerList != null)
        {
            throw new InvalidOperationException("the ALPN list is already set");
        }

        byte* list = (byte*)NativeMemory.Alloc((nuint)(wireProtocols.Length + 2));
        list[0] = (byte)(wireProtocols.Length >> 8);
        list[1] = (byte)wireProtocols.Length;
        wireProtocols.CopyTo(new Span<byte>(list + 2, wireProtocols.Length));
        _alpnServerList = list;
        return (nint)list;
    }

    /// <summary>
    /// Registers the contexts the SNI callback may switch a session to; this context holds a reference on
    /// each so they live as long as it does. Returns the cookie for the callback argument.
    /// </summary>
    internal nint SetServerNameAlternatives(SafeSslContextHandle[] alternatives)
    {
        if (_serverNameSelector.IsAllocated)
        {
            throw new InvalidOperationException("the SNI alternatives are already set");
        }

        foreach (SafeSslContextHandle alternative in alternatives)
        {
            bool added = false;
            alternative.DangerousAddRef(ref added);
        }

        _alternatives = alternatives;
        _serverNameSelector = GCHandle.Alloc(alternatives);
        return GCHandle.ToIntPtr(_serverNameSelector);
    }

    protected override unsafe bool ReleaseHandle()
    {
        Interop.Ssl.SslCtxFree(handle);
        if (_alpnServerList != null)
        {
            NativeMemory.Free(_alpnServerList);
            _alpnServerList = null;
        }

        if (_serverNameSelector.IsAllocated)
        {
            _serverNameSelector.Free();
        }

        if (_alternatives is { } alternatives)
        {
            foreach (SafeSslContextHandle alternative in alternatives)
            {
                alternative.DangerousRelease();
            }
        }

        return true;
    }
}
