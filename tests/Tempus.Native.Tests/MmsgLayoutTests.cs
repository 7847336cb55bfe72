using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tempus.Native.Tests;

/// <summary>STYLE rule 23: the struct mmsghdr mirror matches the C layout.</summary>
public sealed class MmsgLayoutTests
{
    [Fact]
    public void MultiMessageHeaderMirrorsTheLinuxLp64Layout()
    {
        // struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; }: msg_len at 56, size 64 (8-byte aligned).
        Assert.Equal(64, Marshal.SizeOf<Interop.Libc.MMsgHdr>());
        Assert.Equal(64, Unsafe.SizeOf<Interop.Libc.MMsgHdr>());
        Assert.Equal(0, (int)Marshal.OffsetOf<Interop.Libc.MMsgHdr>(nameof(Interop.Libc.MMsgHdr.Header)));
        Assert.Equal(56, (int)Marshal.OffsetOf<Interop.Libc.MMsgHdr>(nameof(Interop.Libc.MMsgHdr.Length)));
        Assert.Equal(16, Unsafe.SizeOf<Interop.Libc.Timespec>());
        Assert.Equal(0x10000, Interop.Libc.MSG_WAITFORONE);
    }
}
