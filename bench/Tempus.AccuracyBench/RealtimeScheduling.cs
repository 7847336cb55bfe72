using System.Runtime.InteropServices;

namespace Tempus.AccuracyBench;

/// <summary>
/// Real-time scheduling for the emulator's thread. On a loaded machine an ordinary thread that wakes to forward a
/// datagram waits milliseconds for a CPU (seen here: 0.4 to 6 ms on average, 140 ms at worst, and more for one
/// direction than the other), which adds to the emulated path delays and biases every client alike. The thread
/// sleeps between datagrams and never spins, so a low SCHED_FIFO priority costs the machine nothing but buys prompt
/// wake-ups. Needs root (CAP_SYS_NICE); without it the emulator runs as before and its measured lateness says so.
/// </summary>
internal static partial class RealtimeScheduling
{
    private const int SCHED_FIFO = 1;

    /// <summary>Moves the calling thread to SCHED_FIFO at <paramref name="priority"/>; returns 0 or the errno.</summary>
    public static int TryFifoForThisThread(int priority)
    {
        // sched_setscheduler(0, ...) applies to the calling thread on Linux; struct sched_param is one int.
        return SchedSetScheduler(0, SCHED_FIFO, in priority) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, in int priority);
}
