using System.Runtime.InteropServices;

namespace Tempus.LoadGen;

// The few libc calls only the load generator needs (waiting on many sockets, sub-millisecond pacing, signalling
// the daemons it started). They stay here rather than in Tempus.Native, which holds what the product uses.
internal static unsafe partial class Posix
{
    internal const short POLLIN = 0x001;
    internal const int SIGTERM = 15;
    internal const int CLOCK_MONOTONIC = 1;
    internal const int PR_SET_TIMERSLACK = 29;
    internal const int SC_CLK_TCK = 2;
    internal const int ECONNREFUSED = 111;

    /// <summary>Mirror of <c>struct pollfd</c> (8 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        internal int Fd;
        internal short Events;
        internal short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clockId, int flags, Interop.Libc.Timespec* request, Interop.Libc.Timespec* remain);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, uint who, int priority);

    /// <summary>
    /// Sets the calling thread's nice value (Linux applies setpriority(PRIO_PROCESS, 0) to the calling thread only;
    /// threads it creates later inherit it). Returns the errno, 0 on success.
    /// </summary>
    internal static int SetThreadNice(int nice) => SetPriority(0, 0, nice) == 0 ? 0 : Marshal.GetLastPInvokeError();

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long Sysconf(int name);

    /// <summary>Clock ticks per second for /proc/PID/stat's utime and stime (normally 100).</summary>
    internal static long ClockTicksPerSecond
    {
        get
        {
            long ticks = Sysconf(SC_CLK_TCK);
            return ticks > 0 ? ticks : 100;
        }
    }

    /// <summary>Sleeps the calling thread for about <paramref name="nanoseconds"/> (a relative CLOCK_MONOTONIC sleep).</summary>
    internal static void SleepNanoseconds(long nanoseconds)
    {
        var request = new Interop.Libc.Timespec { TvSec = nanoseconds / 1_000_000_000, TvNsec = nanoseconds % 1_000_000_000 };
        _ = ClockNanosleep(CLOCK_MONOTONIC, 0, &request, null);
    }

    /// <summary>
    /// Lets the calling thread's short sleeps end within a microsecond of their deadline instead of the default
    /// 50 µs timer slack, so the sender's pacing bursts stay small.
    /// </summary>
    internal static void SetTightTimerSlack() => _ = Prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
}
