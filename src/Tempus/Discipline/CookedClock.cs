using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Discipline;

/// <summary>
/// The time the sources and the server read: the clock's reading plus the part of the offset still being slewed out
/// (chrony's "cooked" time, LCL_ReadCookedTime). A slew in progress is then not measured as an offset again, and a
/// slew shows to the sources as one immediate correction, which <see cref="ClockDiscipline"/> tells them of.
/// </summary>
/// <param name="raw">The clock the control corrects (for <c>-x</c>, the control's corrected clock).</param>
/// <param name="control">The control whose outstanding slew is added.</param>
public sealed class CookedClock(ISystemClock raw, IClockControl control) : ISystemClock
{
    private readonly ISystemClock _raw = raw ?? throw new ArgumentNullException(nameof(raw));
    private readonly IClockControl _control = control ?? throw new ArgumentNullException(nameof(control));

    /// <summary>The raw clock's reading plus the remaining slew, Unix ns.</summary>
    public long UnixNanoseconds => _raw.UnixNanoseconds + (long)Math.Round(_control.RemainingSlewSeconds * 1e9);

    /// <inheritdoc/>
    public sbyte Precision => _raw.Precision;

    /// <inheritdoc/>
    public NtpTimestamp NtpNow => NtpTimestamp.FromUnixTimeNanoseconds(UnixNanoseconds);
}
