namespace Tempus.Testing;

/// <summary>
/// How far apart two reads of CLOCK_REALTIME may disagree with their order when they run on different CPUs.
/// </summary>
/// <remarks>
/// On a virtual machine each vCPU's TSC carries its own offset, so the kernel's packet timestamp (taken on the CPU that
/// ran the softirq) and a test's <c>clock_gettime</c> (on whatever CPU the thread had migrated to) can be out of
/// order by a few microseconds: CI saw a kernel receive stamp 3.5 µs after a later read, and a read 0.4 µs before an
/// earlier one. Tests that bracket a stamp between two reads widen the bracket by this much. 1 ms still tells the
/// realtime clock from any other (monotonic, boot time, a cooked clock) and an arrival stamp from a read at dispatch.
/// </remarks>
internal static class ClockReads
{
    /// <summary>Slack, in nanoseconds, for clock reads taken on different CPUs.</summary>
    public const long CrossCpuSlackNanoseconds = 1_000_000;
}
