using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/timex.h> / <linux/timex.h>: the modes bits of struct timex (x86_64 and arm64 share them).
        internal const uint ADJ_OFFSET = 0x0001;
        internal const uint ADJ_FREQUENCY = 0x0002;
        internal const uint ADJ_MAXERROR = 0x0004;
        internal const uint ADJ_ESTERROR = 0x0008;
        internal const uint ADJ_STATUS = 0x0010;
        internal const uint ADJ_TIMECONST = 0x0020;
        internal const uint ADJ_TAI = 0x0080;
        internal const uint ADJ_SETOFFSET = 0x0100;
        internal const uint ADJ_MICRO = 0x1000;
        internal const uint ADJ_NANO = 0x2000;
        internal const uint ADJ_TICK = 0x4000;

        // The status bits (struct timex.status).
        internal const int STA_PLL = 0x0001;
        internal const int STA_PPSFREQ = 0x0002;
        internal const int STA_PPSTIME = 0x0004;
        internal const int STA_FLL = 0x0008;
        internal const int STA_INS = 0x0010;
        internal const int STA_DEL = 0x0020;
        internal const int STA_UNSYNC = 0x0040;
        internal const int STA_FREQHOLD = 0x0080;
        internal const int STA_PPSSIGNAL = 0x0100;
        internal const int STA_PPSJITTER = 0x0200;
        internal const int STA_PPSWANDER = 0x0400;
        internal const int STA_PPSERROR = 0x0800;
        internal const int STA_CLOCKERR = 0x1000;
        internal const int STA_NANO = 0x2000;
        internal const int STA_MODE = 0x4000;
        internal const int STA_CLK = 0x8000;

        // clock_adjtime's return value on success: the clock state.
        internal const int TIME_OK = 0;
        internal const int TIME_INS = 1;
        internal const int TIME_DEL = 2;
        internal const int TIME_OOP = 3;
        internal const int TIME_WAIT = 4;
        internal const int TIME_ERROR = 5;

        internal const int EPERM = 1;
        internal const int EINVAL = 22;

        /// <summary>
        /// kernel/time/ntp.c: timex.freq and timex.ppsfreq are ppm scaled by 2^16 ("scaled ppm"); the kernel
        /// clamps freq to ±500 ppm (MAXFREQ).
        /// </summary>
        internal const double ScaledPpmPerPpm = 65536.0;

        /// <summary>Mirror of <c>struct timeval</c> on 64-bit Linux (16 bytes). With ADJ_NANO the second field is nanoseconds.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Timeval
        {
            internal long TvSec;
            internal long TvUsec;
        }

        /// <summary>
        /// Mirror of <c>struct timex</c> on 64-bit Linux (x86_64, arm64): 208 bytes. The C fields are
        /// <c>long</c> (8 bytes) except modes, status, shift and tai (4 bytes each, the 8-byte fields after
        /// them naturally aligned), and eleven reserved <c>int</c>s close it. Blittable, so it is pinned rather
        /// than copied; TimexLayoutTests holds it to the C layout (STYLE rule 23).
        /// </summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct Timex
        {
            internal uint Modes;
            internal long Offset;
            internal long Freq;
            internal long MaxError;
            internal long EstError;
            internal int Status;
            internal long Constant;
            internal long Precision;
            internal long Tolerance;
            internal Timeval Time;
            internal long Tick;
            internal long PpsFreq;
            internal long Jitter;
            internal int Shift;
            internal long Stabil;
            internal long JitCnt;
            internal long CalCnt;
            internal long ErrCnt;
            internal long StbCnt;
            internal int Tai;
            internal fixed int Reserved[11];
        }

        /// <summary>The kernel clock's state as <c>clock_adjtime</c> with modes = 0 reports it.</summary>
        internal readonly struct KernelClockReading
        {
            internal KernelClockReading(in Timex timex, int state)
            {
                State = state;
                Offset = timex.Offset;
                Freq = timex.Freq;
                MaxError = timex.MaxError;
                EstError = timex.EstError;
                Status = timex.Status;
                Constant = timex.Constant;
                Precision = timex.Precision;
                Tolerance = timex.Tolerance;
                Tick = timex.Tick;
                Tai = timex.Tai;
            }

            /// <summary>The return value: TIME_OK, TIME_INS, TIME_DEL, TIME_OOP, TIME_WAIT or TIME_ERROR.</summary>
            internal int State { get; }

            /// <summary>The PLL's remaining offset: nanoseconds when STA_NANO is set, microseconds otherwise.</summary>
            internal long Offset { get; }

            /// <summary>Frequency offset in scaled ppm (2^-16 ppm).</summary>
            internal long Freq { get; }

            internal long MaxError { get; }

            internal long EstError { get; }

            internal int Status { get; }

            internal long Constant { get; }

            internal long Precision { get; }

            internal long Tolerance { get; }

            /// <summary>Microseconds between clock ticks (10000 at USER_HZ 100 when not adjusted).</summary>
            internal long Tick { get; }

            internal int Tai { get; }

            internal double FrequencyPpm => Freq / ScaledPpmPerPpm;

            internal long OffsetNanoseconds => (Status & STA_NANO) != 0 ? Offset : Offset * 1000;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "clock_adjtime", SetLastError = true)]
        private static partial int ClockAdjTimeNative(int clockId, ref Timex buffer);

        /// <summary>
        /// Reads the kernel clock state without changing anything: modes = 0 is the one clock_adjtime call
        /// that needs no privilege and has no effect.
        /// </summary>
        internal static KernelClockReading ReadKernelClockState(int clockId = CLOCK_REALTIME)
        {
            Timex timex = default;
            int state = ClockAdjTimeNative(clockId, ref timex);
            if (state < 0)
            {
                throw new InvalidOperationException($"clock_adjtime({clockId}) read failed: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            return new KernelClockReading(timex, state);
        }

        /// <summary>
        /// Calls clock_adjtime with <paramref name="timex"/> as given (it may change the clock). Returns the
        /// clock state, or -1 with <paramref name="errno"/> set (EPERM without CAP_SYS_TIME).
        /// </summary>
        internal static int ClockAdjTime(int clockId, ref Timex timex, out int errno)
        {
            int state = ClockAdjTimeNative(clockId, ref timex);
            errno = state < 0 ? Marshal.GetLastPInvokeError() : 0;
            return state;
        }
    }
}
