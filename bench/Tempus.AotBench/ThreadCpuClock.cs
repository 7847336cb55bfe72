using System.Runtime.InteropServices;

namespace Tempus.AotBench;

/// <summary>
/// The calling thread's CPU time, clock_gettime(CLOCK_THREAD_CPUTIME_ID), in nanoseconds. Unlike wall time it leaves
/// out the time other processes on a shared machine take from this thread, and unlike the process's CPU time
/// (<see cref="Environment.CpuUsage"/>) it leaves out the runtime's other threads.
/// </summary>
internal static partial class ThreadCpuClock
{
    // <time.h> on Linux.
    private const int CLOCK_THREAD_CPUTIME_ID = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long TvSec;
        public long TvNsec;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clockId, out Timespec time);

    /// <summary>This thread's CPU time so far.</summary>
    public static long Nanoseconds
    {
        get
        {
            if (ClockGetTime(CLOCK_THREAD_CPUTIME_ID, out Timespec ts) != 0)
            {
                throw new InvalidOperationException($"clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            return (ts.TvSec * 1_000_000_000L) + ts.TvNsec;
        }
    }
}
