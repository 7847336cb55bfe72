using System.Runtime.InteropServices;

namespace Tempus.Native.Tests;

/// <summary>STYLE rule 23: the struct tm mirror ASN1_TIME_to_tm fills matches glibc's layout on 64-bit Linux.</summary>
public sealed class TmLayoutTests
{
    [Fact]
    public void TmMirrorMatchesGlibcLp64Layout()
    {
        // gcc on x86_64/aarch64 glibc: sizeof(struct tm) = 56, offsetof tm_year 20, tm_isdst 32,
        // tm_gmtoff 40 (after 4 bytes of padding), tm_zone 48.
        Assert.Equal(56, Marshal.SizeOf<Interop.Crypto.Tm>());
        Assert.Equal(0, (int)Marshal.OffsetOf<Interop.Crypto.Tm>(nameof(Interop.Crypto.Tm.TmSec)));
        Assert.Equal(16, (int)Marshal.OffsetOf<Interop.Crypto.Tm>(nameof(Interop.Crypto.Tm.TmMon)));
        Assert.Equal(20, (int)Marshal.OffsetOf<Interop.Crypto.Tm>(nameof(Interop.Crypto.Tm.TmYear)));
        Assert.Equal(32, (int)Marshal.OffsetOf<Interop.Crypto.Tm>(nameof(Interop.Crypto.Tm.TmIsdst)));
        Assert.Equal(40, (int)Marshal.OffsetOf<Interop.Crypto.Tm>(nameof(Interop.Crypto.Tm.TmGmtoff)));
        Assert.Equal(48, (int)Marshal.OffsetOf<Interop.Crypto.Tm>(nameof(Interop.Crypto.Tm.TmZone)));
    }

    [Fact]
    public void TmMirrorIsBlittable()
    {
        // Blittable structs pin instead of copying; Marshal.SizeOf equals the managed size only then.
        Assert.Equal(Marshal.SizeOf<Interop.Crypto.Tm>(), System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.Crypto.Tm>());
    }
}
