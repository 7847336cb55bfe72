using System.Globalization;
using System.Runtime.InteropServices;
using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// The real clock control: CLOCK_REALTIME through clock_adjtime.
/// <para>
/// ██ WARNING: THIS CLASS MOVES THIS MACHINE'S CLOCK. ██ Every mutating method (SetFrequency, SlewOffset,
/// StepOffset, SetLeap, SetSynchronized) calls clock_adjtime with non-zero modes. Tests and benchmarks must never
/// call them: they use <see cref="FreeRunningClockControl"/> or <see cref="SimulatedClockControl"/>. Only the
/// constructor, the read path (<see cref="ReadKernelState"/>, <see cref="FrequencyPpm"/>, <see cref="CanAdjust"/>)
/// and <see cref="Dispose"/> without a slew in progress are safe: they change nothing.
/// </para>
/// </summary>
/// <remarks>
/// Slewing works as chrony's does (sys_generic.c), not through the kernel PLL: the frequency is raised or lowered
/// by up to the maximum slew rate for as long as it takes to correct the offset, then put back; beyond the ±500 ppm
/// of timex.freq, timex.tick carries the rest (1 µs of tick is 100 ppm, ±10% at most). The first adjustment takes
/// the clock over from the kernel PLL (PLL offset reset, then STA_PLL off), as chronyd does at start; the constructor
/// does not, so creating the object is harmless. The kernel and the slew timer's time are reached through
/// <see cref="IKernelClock"/> and <see cref="TimeProvider"/>, so tests drive this class against a simulated kernel.
/// </remarks>
public sealed class LinuxClockControl : IClockControl, IDisposable
{
    /// <summary>The message users see when the process may not adjust the clock.</summary>
    internal const string NotPermittedMessage =
        "cannot adjust the system clock: Operation not permitted (needs CAP_SYS_TIME; run with -x to never touch the clock)";

    private const int CapSysTime = 25;
    private const double PpmPerTickMicrosecond = 1e6 / KernelClockState.NominalTickMicroseconds;
    private const long MaxTickDeviation = KernelClockState.NominalTickMicroseconds / 10;
    private const double MaxKernelFrequencyPpm = 500;
    private const double MinSlewDurationSeconds = 1;
    private const double SlewDoneSeconds = 1e-9;
    private const long MaxErrorLimitMicroseconds = 16_000_000;

    private readonly double _maxSlewRatePpm;
    private readonly IKernelClock _kernel;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly ITimer _slewTimer;
    private double _baseFrequencyPpm;
    private double _remainingSlewSeconds;
    private double _slewRatePpm;
    private long _slewStartTimestamp;
    private bool _takenOver;
    private bool _disposed;

    /// <summary>Creates the control. Reads the kernel's frequency and checks for CAP_SYS_TIME; changes nothing.</summary>
    /// <param name="maxSlewRatePpm">The fastest an offset is slewed out, ppm (chrony's default: 83333.333;
    /// the kernel allows about 100 000 ppm in all).</param>
    public LinuxClockControl(double maxSlewRatePpm = ClockSlew.DefaultMaxSlewRatePpm)
        : this(RealKernelClock.Instance, TimeProvider.System, maxSlewRatePpm)
    {
    }

    /// <summary>Creates the control over <paramref name="kernel"/>, timing slews with <paramref name="time"/>; changes nothing.</summary>
    internal LinuxClockControl(IKernelClock kernel, TimeProvider time, double maxSlewRatePpm = ClockSlew.DefaultMaxSlewRatePpm)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(time);
        ClockSlew.ValidateRate(maxSlewRatePpm);
        _kernel = kernel;
        _time = time;
        _maxSlewRatePpm = maxSlewRatePpm;
        _baseFrequencyPpm = KernelClockState.From(kernel.Read()).TotalFrequencyPpm;
        CanAdjust = kernel.HasCapSysTime;
        _slewTimer = time.CreateTimer(static state => ((LinuxClockControl)state!).OnSlewTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <inheritdoc/>
    public double FrequencyPpm
    {
        get
        {
            lock (_lock)
            {
                return _baseFrequencyPpm;
            }
        }
    }

    /// <summary>Whether this process holds CAP_SYS_TIME (read from /proc/self/status at construction).</summary>
    public bool CanAdjust { get; }

    /// <inheritdoc/>
    public string Description => CanAdjust
        ? "Linux system clock (clock_adjtime on CLOCK_REALTIME)"
        : "Linux system clock, read-only: no CAP_SYS_TIME (run with -x to never touch the clock)";

    /// <summary>The part of requested slews not yet corrected, seconds.</summary>
    public double RemainingSlewSeconds
    {
        get
        {
            lock (_lock)
            {
                return _remainingSlewSeconds - SlewedSinceStart();
            }
        }
    }

    /// <summary>The last error of a slew ended by the timer (which cannot throw to anyone), or null.</summary>
    public ClockControlException? LastTimerError { get; private set; }

    /// <summary>Reads the kernel clock state with modes = 0: needs no privilege and changes nothing.</summary>
    public static KernelClockState ReadKernelState() => KernelClockState.From(Interop.Libc.ReadKernelClockState());

    /// <inheritdoc/>
    public void SetFrequency(double ppm)
    {
        ClockSlew.ValidateFinite(ppm, nameof(ppm));
        lock (_lock)
        {
            ThrowIfDisposed();
            TakeOver();
            AccountSlewProgress();
            _baseFrequencyPpm = ppm;
            StartSlew();
        }
    }

    /// <inheritdoc/>
    public void SlewOffset(double seconds)
    {
        ClockSlew.ValidateFinite(seconds, nameof(seconds));
        lock (_lock)
        {
            ThrowIfDisposed();
            TakeOver();
            AccountSlewProgress();
            _remainingSlewSeconds += seconds;
            StartSlew();
        }
    }

    /// <inheritdoc/>
    public void StepOffset(double seconds)
    {
        ClockSlew.ValidateFinite(seconds, nameof(seconds));
        lock (_lock)
        {
            ThrowIfDisposed();
            TakeOver();

            // ADJ_SETOFFSET with ADJ_NANO: time = {sec, nsec} with 0 <= nsec < 1e9, so -0.25 s is {-1, 750000000}.
            long nanoseconds = (long)Math.Round(seconds * 1e9);
            Interop.Libc.Timex timex = default;
            timex.Modes = Interop.Libc.ADJ_SETOFFSET | Interop.Libc.ADJ_NANO;
            timex.Time.TvSec = Math.DivRem(nanoseconds, 1_000_000_000L, out long remainder);
            if (remainder < 0)
            {
                timex.Time.TvSec--;
                remainder += 1_000_000_000L;
            }

            timex.Time.TvUsec = remainder;
            Adjust(ref timex, "step");
        }
    }

    /// <inheritdoc/>
    public void SetLeap(LeapIndicator leap)
    {
        int bits = leap switch
        {
            LeapIndicator.InsertSecond => Interop.Libc.STA_INS,
            LeapIndicator.DeleteSecond => Interop.Libc.STA_DEL,
            _ => 0,
        };
        lock (_lock)
        {
            ThrowIfDisposed();
            TakeOver();
            int status = _kernel.Read().Status & ~(Interop.Libc.STA_INS | Interop.Libc.STA_DEL);
            Interop.Libc.Timex timex = default;
            timex.Modes = Interop.Libc.ADJ_STATUS;
            timex.Status = status | bits;
            Adjust(ref timex, "set leap status");
        }
    }

    /// <inheritdoc/>
    public void SetSynchronized(bool synced, double maxErrorSeconds, double estErrorSeconds)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            TakeOver();

            // Clearing STA_UNSYNC is what turns on the kernel's 11-minute RTC update (rtcsync).
            int status = _kernel.Read().Status & ~Interop.Libc.STA_UNSYNC;
            Interop.Libc.Timex timex = default;
            timex.Modes = Interop.Libc.ADJ_STATUS | Interop.Libc.ADJ_MAXERROR | Interop.Libc.ADJ_ESTERROR;
            timex.Status = synced ? status : status | Interop.Libc.STA_UNSYNC;
            timex.MaxError = ToErrorMicroseconds(maxErrorSeconds);
            timex.EstError = ToErrorMicroseconds(estErrorSeconds);
            Adjust(ref timex, "set synchronization status");
        }
    }

    /// <summary>Stops the slew timer. A slew in progress is ended by putting the frequency back (the only write here).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _slewTimer.Dispose();
            if (_slewRatePpm != 0)
            {
                AccountSlewProgress();
                _slewRatePpm = 0;
                WriteFrequency(_baseFrequencyPpm);
            }
        }
    }

    /// <summary>The message for a failed clock_adjtime; EPERM says which capability is missing and how to run without it.</summary>
    internal static string DescribeAdjustError(int errno, string operation) => errno == Interop.Libc.EPERM
        ? NotPermittedMessage
        : $"cannot adjust the system clock ({operation}): {Marshal.GetPInvokeErrorMessage(errno)}";

    /// <summary>Whether a /proc/PID/status text grants CAP_SYS_TIME in the effective set.</summary>
    internal static bool HasCapSysTime(string procStatus)
    {
        foreach (string line in procStatus.Split('\n'))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong effective))
            {
                return (effective & (1UL << CapSysTime)) != 0;
            }
        }

        return false;
    }

    /// <summary>Splits a rate correction into timex.tick (whole 100 ppm steps) and timex.freq (the rest, scaled ppm).</summary>
    internal static (long Tick, long ScaledFrequency) SplitFrequency(double totalPpm)
    {
        long tickDelta = Math.Clamp((long)Math.Round(totalPpm / PpmPerTickMicrosecond), -MaxTickDeviation, MaxTickDeviation);
        double residual = Math.Clamp(totalPpm - (tickDelta * PpmPerTickMicrosecond), -MaxKernelFrequencyPpm, MaxKernelFrequencyPpm);
        return (KernelClockState.NominalTickMicroseconds + tickDelta, (long)Math.Round(residual * Interop.Libc.ScaledPpmPerPpm));
    }

    private static long ToErrorMicroseconds(double seconds) =>
        double.IsFinite(seconds) ? Math.Clamp((long)Math.Round(seconds * 1e6), 0, MaxErrorLimitMicroseconds) : MaxErrorLimitMicroseconds;

    private void Adjust(ref Interop.Libc.Timex timex, string operation)
    {
        if (_kernel.Adjust(ref timex, out int errno) < 0)
        {
            throw new ClockControlException(errno, DescribeAdjustError(errno, operation));
        }
    }

    // chronyd at start (sys_timex.c): the kernel PLL must not fight our frequency and slews, so drop its outstanding
    // offset and turn it off. Two calls, in that order: the kernel applies ADJ_STATUS before ADJ_OFFSET and ignores
    // an offset while STA_PLL is clear (ntp_update_offset), yet keeps slewing out what time_offset still holds.
    // Done at the first adjustment, never in the constructor.
    private void TakeOver()
    {
        if (_takenOver)
        {
            return;
        }

        int status = _kernel.Read().Status;
        Interop.Libc.Timex reset = default;
        reset.Modes = Interop.Libc.ADJ_OFFSET | Interop.Libc.ADJ_STATUS | Interop.Libc.ADJ_NANO;
        reset.Offset = 0;
        reset.Status = status | Interop.Libc.STA_PLL;
        Adjust(ref reset, "reset the kernel PLL offset");

        Interop.Libc.Timex off = default;
        off.Modes = Interop.Libc.ADJ_STATUS;
        off.Status = status & ~(Interop.Libc.STA_PLL | Interop.Libc.STA_FLL | Interop.Libc.STA_PPSFREQ | Interop.Libc.STA_PPSTIME);
        Adjust(ref off, "disable the kernel PLL");
        _takenOver = true;
    }

    private double SlewedSinceStart() =>
        _slewRatePpm == 0 ? 0 : _slewRatePpm * 1e-6 * _time.GetElapsedTime(_slewStartTimestamp).TotalSeconds;

    private void AccountSlewProgress()
    {
        _remainingSlewSeconds -= SlewedSinceStart();
        _slewStartTimestamp = _time.GetTimestamp();
    }

    // Raise or lower the frequency by the slew rate until the outstanding offset is gone. Small offsets are slewed
    // over at least a second so a late timer overshoots by little; whatever it overshoots is slewed back next time.
    private void StartSlew()
    {
        double remaining = _remainingSlewSeconds;
        double rate = 0;
        if (Math.Abs(remaining) >= SlewDoneSeconds)
        {
            double kernelLimit = (MaxTickDeviation * PpmPerTickMicrosecond) - Math.Abs(_baseFrequencyPpm);
            double magnitude = Math.Min(Math.Min(_maxSlewRatePpm, Math.Abs(remaining) * 1e6 / MinSlewDurationSeconds), Math.Max(0, kernelLimit));
            rate = Math.CopySign(magnitude, remaining);
        }
        else
        {
            _remainingSlewSeconds = 0;
        }

        WriteFrequency(_baseFrequencyPpm + rate);
        _slewRatePpm = rate;
        _slewStartTimestamp = _time.GetTimestamp();
        if (rate == 0)
        {
            _slewTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        else
        {
            double durationSeconds = Math.Abs(remaining) / (Math.Abs(rate) * 1e-6);
            _slewTimer.Change(TimeSpan.FromSeconds(Math.Min(durationSeconds, 3600)), Timeout.InfiniteTimeSpan);
        }
    }

    private void OnSlewTimer()
    {
        lock (_lock)
        {
            if (_disposed || _slewRatePpm == 0)
            {
                return;
            }

            try
            {
                AccountSlewProgress();
                StartSlew();
            }
            catch (ClockControlException e)
            {
                LastTimerError = e;
            }
        }
    }

    private void WriteFrequency(double totalPpm)
    {
        (long tick, long scaledFrequency) = SplitFrequency(totalPpm);
        Interop.Libc.Timex timex = default;
        timex.Modes = Interop.Libc.ADJ_FREQUENCY | Interop.Libc.ADJ_TICK;
        timex.Freq = scaledFrequency;
        timex.Tick = tick;
        Adjust(ref timex, "set frequency");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
