using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// Reads CLOCK_REALTIME with nanosecond resolution through clock_gettime (DateTime.UtcNow has only 100 ns
/// ticks). Reading never adjusts anything, so this clock is safe in every mode, including no clock control.
/// </summary>
public sealed class RealtimeClock : ISystemClock
{
    /// <summary>The shared instance.</summary>
    public static RealtimeClock Instance { get; } = new();

    private RealtimeClock()
    {
        Precision = MeasurePrecision();
    }

    /// <inheritdoc/>
    public long UnixNanoseconds => Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);

    /// <inheritdoc/>
    public NtpTimestamp NtpNow => NtpTimestamp.FromUnixTimeNanoseconds(UnixNanoseconds);

    /// <inheritdoc/>
    public sbyte Precision { get; }

    /// <summary>
    /// Like chrony, takes the precision as the smallest step between successive readings (bounded below by
    /// the clock's reported resolution) and rounds its log2 up, so the header never claims more than we have.
    /// </summary>
    private static sbyte MeasurePrecision()
    {
        long resolution = Math.Max(1, Interop.Libc.ClockGetResolutionNanoseconds(Interop.Libc.CLOCK_REALTIME));
        long best = long.MaxValue;
        long previous = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);
        for (int i = 0; i < 100; i++)
        {
            long now = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);
            long step = now - previous;
            if (step > 0 && step < best)
            {
                best = step;
            }

            previous = now;
        }

        long precisionNs = Math.Max(resolution, best == long.MaxValue ? resolution : best);
        double log2 = Math.Log2(precisionNs / 1e9);
        return (sbyte)Math.Clamp((int)Math.Ceiling(log2), -30, 0);
    }
}
