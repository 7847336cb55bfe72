using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// The write side of a clock: what the discipline uses to correct it. <see cref="ISystemClock"/> stays the read side.
/// </summary>
/// <remarks>
/// Sign conventions, the same everywhere in Tempus:
/// <list type="bullet">
/// <item>An offset is <c>reference − local</c>: positive means the local clock is behind and must be advanced.
/// <see cref="SlewOffset"/> and <see cref="StepOffset"/> take an offset in that sense.</item>
/// <item>A frequency correction in ppm is added to the clock's rate: positive makes the local clock run faster.
/// A clock that gains 10 ppm is corrected with <c>SetFrequency(-10)</c>.</item>
/// </list>
/// </remarks>
public interface IClockControl
{
    /// <summary>The frequency correction currently applied (ppm; positive = the clock is made to run faster),
    /// excluding any temporary change used to slew an offset out.</summary>
    double FrequencyPpm { get; }

    /// <summary>Whether the mutating methods will take effect; false when, for example, the process lacks
    /// CAP_SYS_TIME for the real clock. Virtual clocks always return true: their corrections are tracked.</summary>
    bool CanAdjust { get; }

    /// <summary>The part of the offset passed to <see cref="SlewOffset"/> not corrected yet, seconds (reference − local).
    /// Measurements add it to the clock's reading ("cooked" time, as chrony does) so a slew in progress does not look
    /// like an offset.</summary>
    double RemainingSlewSeconds { get; }

    /// <summary>What this control drives, for logs and <c>tempusctl tracking</c>.</summary>
    string Description { get; }

    /// <summary>Sets the frequency correction (ppm; positive = faster). Replaces, rather than adds to, the previous one.</summary>
    void SetFrequency(double ppm);

    /// <summary>
    /// Starts correcting <paramref name="seconds"/> of offset (<c>reference − local</c>) gradually, at no more than
    /// the control's maximum slew rate. Adds to whatever part of an earlier slew is still outstanding.
    /// </summary>
    void SlewOffset(double seconds);

    /// <summary>Moves the clock by <paramref name="seconds"/> (<c>reference − local</c>) at once.</summary>
    void StepOffset(double seconds);

    /// <summary>Arms (or disarms) a leap second at the end of the current UTC day, as the kernel does with STA_INS/STA_DEL.</summary>
    void SetLeap(LeapIndicator leap);

    /// <summary>
    /// Tells the clock whether it is synchronized, with the error bounds to publish (for the Linux clock, clearing
    /// STA_UNSYNC turns on the kernel's 11-minute RTC mode; maxerror/esterror are what <c>ntptime</c> shows).
    /// </summary>
    void SetSynchronized(bool synced, double maxErrorSeconds, double estErrorSeconds);
}
