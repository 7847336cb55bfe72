using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tempus.Native.Tests;

/// <summary>
/// STYLE rule 23: the struct timex mirror matches the C layout on 64-bit Linux. Reading only: every call here
/// passes modes = 0, which never changes the clock.
/// </summary>
public sealed class TimexLayoutTests
{
    [Fact]
    public void TimexMirrorMatchesTheLinuxLp64Layout()
    {
        // gcc on x86_64 glibc, offsetof(struct timex, ...): sizeof 208.
        Assert.Equal(208, Marshal.SizeOf<Interop.Libc.Timex>());
        Assert.Equal(208, Unsafe.SizeOf<Interop.Libc.Timex>());
        Assert.Equal(0, Offset(nameof(Interop.Libc.Timex.Modes)));
        Assert.Equal(8, Offset(nameof(Interop.Libc.Timex.Offset)));
        Assert.Equal(16, Offset(nameof(Interop.Libc.Timex.Freq)));
        Assert.Equal(24, Offset(nameof(Interop.Libc.Timex.MaxError)));
        Assert.Equal(32, Offset(nameof(Interop.Libc.Timex.EstError)));
        Assert.Equal(40, Offset(nameof(Interop.Libc.Timex.Status)));
        Assert.Equal(48, Offset(nameof(Interop.Libc.Timex.Constant)));
        Assert.Equal(56, Offset(nameof(Interop.Libc.Timex.Precision)));
        Assert.Equal(64, Offset(nameof(Interop.Libc.Timex.Tolerance)));
        Assert.Equal(72, Offset(nameof(Interop.Libc.Timex.Time)));
        Assert.Equal(88, Offset(nameof(Interop.Libc.Timex.Tick)));
        Assert.Equal(96, Offset(nameof(Interop.Libc.Timex.PpsFreq)));
        Assert.Equal(112, Offset(nameof(Interop.Libc.Timex.Shift)));
        Assert.Equal(120, Offset(nameof(Interop.Libc.Timex.Stabil)));
        Assert.Equal(152, Offset(nameof(Interop.Libc.Timex.StbCnt)));
        Assert.Equal(160, Offset(nameof(Interop.Libc.Timex.Tai)));
        Assert.Equal(164, Offset(nameof(Interop.Libc.Timex.Reserved)));
        Assert.Equal(16, Marshal.SizeOf<Interop.Libc.Timeval>());
    }

    [Fact]
    public void ModeAndStatusConstantsHaveTheKernelValues()
    {
        // <linux/timex.h>
        Assert.Equal(0x2000u, Interop.Libc.ADJ_NANO);
        Assert.Equal(0x0100u, Interop.Libc.ADJ_SETOFFSET);
        Assert.Equal(0x4000u, Interop.Libc.ADJ_TICK);
        Assert.Equal(0x0040, Interop.Libc.STA_UNSYNC);
        Assert.Equal(0x2000, Interop.Libc.STA_NANO);
        Assert.Equal(5, Interop.Libc.TIME_ERROR);
    }

    [Fact]
    public void ReadingTheKernelClockStateChangesNothingAndIsSane()
    {
        Interop.Libc.KernelClockReading first = Interop.Libc.ReadKernelClockState();
        Interop.Libc.KernelClockReading second = Interop.Libc.ReadKernelClockState();

        Assert.InRange(first.State, Interop.Libc.TIME_OK, Interop.Libc.TIME_ERROR);
        Assert.InRange(first.FrequencyPpm, -500.0, 500.0);
        Assert.InRange(first.Tick, 9000, 11000);
        Assert.InRange(first.MaxError, 0, 16_000_000);
        Assert.InRange(first.EstError, 0, 16_000_000);
        Assert.True(first.Tai >= 0);
        Assert.Equal(first.Status & ~Interop.Libc.STA_CLOCKERR, second.Status & ~Interop.Libc.STA_CLOCKERR);
        Assert.Equal(first.Tick, second.Tick);
    }

    private static int Offset(string field) => (int)Marshal.OffsetOf<Interop.Libc.Timex>(field);
}
