namespace Tempus.Clock;

/// <summary>The kernel clock's status bits (<c>struct timex.status</c>, STA_* in &lt;linux/timex.h&gt;).</summary>
[Flags]
public enum KernelClockStatus
{
    /// <summary>No bit set.</summary>
    None = 0,

    /// <summary>STA_PLL: the kernel PLL disciplines the clock.</summary>
    Pll = 0x0001,

    /// <summary>STA_PPSFREQ: PPS frequency discipline.</summary>
    PpsFrequency = 0x0002,

    /// <summary>STA_PPSTIME: PPS time discipline.</summary>
    PpsTime = 0x0004,

    /// <summary>STA_FLL: frequency-lock mode.</summary>
    Fll = 0x0008,

    /// <summary>STA_INS: a leap second will be inserted at the end of the UTC day.</summary>
    InsertLeap = 0x0010,

    /// <summary>STA_DEL: a leap second will be deleted at the end of the UTC day.</summary>
    DeleteLeap = 0x0020,

    /// <summary>STA_UNSYNC: the clock is not synchronized (no 11-minute RTC mode).</summary>
    Unsynchronized = 0x0040,

    /// <summary>STA_FREQHOLD: frequency updates are held.</summary>
    FrequencyHold = 0x0080,

    /// <summary>STA_PPSSIGNAL: a PPS signal is present.</summary>
    PpsSignal = 0x0100,

    /// <summary>STA_PPSJITTER: PPS jitter limit exceeded.</summary>
    PpsJitter = 0x0200,

    /// <summary>STA_PPSWANDER: PPS wander limit exceeded.</summary>
    PpsWander = 0x0400,

    /// <summary>STA_PPSERROR: PPS calibration error.</summary>
    PpsError = 0x0800,

    /// <summary>STA_CLOCKERR: clock hardware fault.</summary>
    ClockError = 0x1000,

    /// <summary>STA_NANO: offsets are in nanoseconds rather than microseconds.</summary>
    Nanoseconds = 0x2000,

    /// <summary>STA_MODE: FLL rather than PLL mode.</summary>
    Mode = 0x4000,

    /// <summary>STA_CLK: clock source B.</summary>
    ClockSourceB = 0x8000,
}

/// <summary>The clock state clock_adjtime returns (TIME_* in &lt;linux/timex.h&gt;).</summary>
public enum KernelTimeState
{
    /// <summary>TIME_OK: no leap second pending.</summary>
    Ok = 0,

    /// <summary>TIME_INS: a leap second will be inserted at midnight.</summary>
    InsertPending = 1,

    /// <summary>TIME_DEL: a leap second will be deleted at midnight.</summary>
    DeletePending = 2,

    /// <summary>TIME_OOP: the leap second is in progress.</summary>
    LeapInProgress = 3,

    /// <summary>TIME_WAIT: a leap second has just happened.</summary>
    LeapOccurred = 4,

    /// <summary>TIME_ERROR (TIME_BAD): the clock is not synchronized.</summary>
    Error = 5,
}

/// <summary>
/// What the kernel says about CLOCK_REALTIME's discipline (what <c>adjtimex --print</c> or <c>ntptime</c> shows), read
/// with clock_adjtime and modes = 0, which changes nothing.
/// </summary>
/// <param name="State">The return value of clock_adjtime.</param>
/// <param name="Status">The status bits.</param>
/// <param name="FrequencyPpm">timex.freq in ppm (positive = the clock runs faster), without the tick adjustment.</param>
/// <param name="ScaledFrequency">timex.freq as the kernel holds it: ppm scaled by 2^16.</param>
/// <param name="TickMicroseconds">timex.tick: microseconds per 1/USER_HZ; 10000 when not adjusted.</param>
/// <param name="OffsetNanoseconds">The kernel PLL's outstanding offset, nanoseconds.</param>
/// <param name="MaxErrorMicroseconds">timex.maxerror, microseconds.</param>
/// <param name="EstErrorMicroseconds">timex.esterror, microseconds.</param>
/// <param name="TimeConstant">timex.constant, the PLL time constant.</param>
/// <param name="TaiOffsetSeconds">timex.tai: TAI − UTC, seconds, or 0 when never set.</param>
public readonly record struct KernelClockState(
    KernelTimeState State,
    KernelClockStatus Status,
    double FrequencyPpm,
    long ScaledFrequency,
    long TickMicroseconds,
    long OffsetNanoseconds,
    long MaxErrorMicroseconds,
    long EstErrorMicroseconds,
    long TimeConstant,
    int TaiOffsetSeconds)
{
    /// <summary>Nominal timex.tick on Linux: USER_HZ is 100 on x86_64 and arm64, so a tick is 10 000 µs.</summary>
    public const long NominalTickMicroseconds = 10_000;

    /// <summary>The clock's whole rate correction in ppm: the frequency plus the tick adjustment (1 µs of tick is 100 ppm).</summary>
    public double TotalFrequencyPpm => FrequencyPpm + ((TickMicroseconds - NominalTickMicroseconds) * 1e6 / NominalTickMicroseconds);

    /// <summary>Whether STA_UNSYNC is clear, i.e. someone declared the clock synchronized.</summary>
    public bool IsSynchronized => (Status & KernelClockStatus.Unsynchronized) == 0;

    internal static KernelClockState From(in Interop.Libc.KernelClockReading reading) => new(
        (KernelTimeState)reading.State,
        (KernelClockStatus)reading.Status,
        reading.FrequencyPpm,
        reading.Freq,
        reading.Tick,
        reading.OffsetNanoseconds,
        reading.MaxError,
        reading.EstError,
        reading.Constant,
        reading.Tai);
}
