using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <time.h> clock ids (Linux).
        internal const int CLOCK_REALTIME = 0;
        internal const int CLOCK_MONOTONIC = 1;
        internal const int CLOCK_MONOTONIC_RAW = 4;
        internal const int CLOCK_BOOTTIME = 7;

        /// <summary>Mirror of <c>struct timespec</c> on 64-bit Linux: two 64-bit fields, 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Timespec
        {
            internal long TvSec;
            internal long TvNsec;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "clock_gettime", SetLastError = true)]
        private static partial int ClockGetTimeNative(int clockId, out Timespec time);

        [LibraryImport(Libraries.Libc, EntryPoint = "clock_getres", SetLastError = true)]
        private static partial int ClockGetResNative(int clockId, out Timespec resolution);

        [LibraryImport(Libraries.Libc, EntryPoint = "clock_nanosleep")]
        private static partial int ClockNanosleepNative(int clockId, int flags, in Timespec request, nint remain);

        [LibraryImport(Libraries.Libc, EntryPoint = "geteuid")]
        internal static partial uint GetEffectiveUserId();

        /// <summary>Reads a clock in nanoseconds since its epoch; the clocks Tempus uses cannot fail on Linux.</summary>
        internal static long ClockGetTimeNanoseconds(int clockId)
        {
            if (ClockGetTimeNative(clockId, out Timespec ts) != 0)
            {
                throw new InvalidOperationException($"clock_gettime({clockId}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            return (ts.TvSec * 1_000_000_000L) + ts.TvNsec;
        }

        /// <summary>
        /// Sleeps until a clock reads <paramref name="deadlineNanoseconds"/> (clock_nanosleep with TIMER_ABSTIME, so a
        /// signal cannot stretch the sleep); returns at once when that time has passed.
        /// </summary>
        internal static void SleepUntil(int clockId, long deadlineNanoseconds)
        {
            const int TIMER_ABSTIME = 1;
            const int EINTR_ = 4;
            var deadline = new Timespec { TvSec = deadlineNanoseconds / 1_000_000_000, TvNsec = deadlineNanoseconds % 1_000_000_000 };
            while (ClockNanosleepNative(clockId, TIMER_ABSTIME, in deadline, 0) == EINTR_)
            {
            }
        }

        /// <summary>Returns a clock's resolution in nanoseconds.</summary>
        internal static long ClockGetResolutionNanoseconds(int clockId)
        {
            if (ClockGetResNative(clockId, out Timespec ts) != 0)
            {
                throw new InvalidOperationException($"clock_getres({clockId}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            return (ts.TvSec * 1_000_000_000L) + ts.TvNsec;
        }
    }
}
