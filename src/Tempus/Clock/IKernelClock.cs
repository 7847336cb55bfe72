namespace Tempus.Clock;

/// <summary>
/// What <see cref="LinuxClockControl"/> needs from the kernel: read the clock state, call clock_adjtime on
/// CLOCK_REALTIME, and whether this process may. The seam lets tests drive the control against a simulated kernel,
/// since none may ever move the machine's clock.
/// </summary>
internal interface IKernelClock
{
    /// <summary>Whether this process holds CAP_SYS_TIME.</summary>
    bool HasCapSysTime { get; }

    /// <summary>Reads the clock state with modes = 0 (changes nothing).</summary>
    Interop.Libc.KernelClockReading Read();

    /// <summary>Calls clock_adjtime with <paramref name="timex"/> as given; returns the clock state, or -1 with <paramref name="errno"/> set.</summary>
    int Adjust(ref Interop.Libc.Timex timex, out int errno);
}

/// <summary>The kernel itself: clock_adjtime on CLOCK_REALTIME. Adjust with non-zero modes moves this machine's clock.</summary>
internal sealed class RealKernelClock : IKernelClock
{
    private RealKernelClock()
    {
    }

    /// <summary>The one instance.</summary>
    internal static RealKernelClock Instance { get; } = new();

    /// <inheritdoc/>
    public bool HasCapSysTime => ReadCapSysTime();

    /// <inheritdoc/>
    public Interop.Libc.KernelClockReading Read() => Interop.Libc.ReadKernelClockState();

    /// <inheritdoc/>
    public int Adjust(ref Interop.Libc.Timex timex, out int errno) =>
        Interop.Libc.ClockAdjTime(Interop.Libc.CLOCK_REALTIME, ref timex, out errno);

    private static bool ReadCapSysTime()
    {
        try
        {
            return LinuxClockControl.HasCapSysTime(File.ReadAllText("/proc/self/status"));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
