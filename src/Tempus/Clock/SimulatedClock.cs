using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// A local clock on simulated time, for tests: true time moves only through <see cref="Advance(TimeSpan)"/>, never
/// with the wall clock. The local clock starts with an offset from true time and runs with a frequency error that
/// wanders as a seeded random walk; a <see cref="SimulatedClockControl"/> corrects it the way the kernel corrects the
/// real one (frequency, bounded-rate slew, step, leap second at midnight). Same seed, same readings.
/// </summary>
/// <remarks>
/// Time advances in steps of at most one second of true time, aligned to the start, so the random walk and the
/// leap second do not depend on how a test splits its <see cref="Advance(TimeSpan)"/> calls. A simulated day is
/// 86 400 steps of a few arithmetic operations each: milliseconds. Not thread-safe: simulations are single-threaded.
/// </remarks>
public sealed class SimulatedClock : ISystemClock
{
    /// <summary>The longest stretch of true time simulated with constant frequency.</summary>
    public static readonly TimeSpan StepLength = TimeSpan.FromSeconds(1);

    private const long StepNanoseconds = 1_000_000_000;
    private const long NanosecondsPerDay = 86_400L * StepNanoseconds;

    private readonly Random _random;
    private readonly double _wanderPpmPerSqrtSecond;
    private readonly long _startNanoseconds;
    private long _trueNanoseconds;
    private double _localOffsetSeconds;

    /// <summary>Creates a simulated clock.</summary>
    /// <param name="start">True time at the start of the simulation (UTC).</param>
    /// <param name="initialOffsetSeconds">How far the local clock is ahead of true time at the start (negative = behind).</param>
    /// <param name="frequencyErrorPpm">How fast the local clock gains on true time, ppm (negative = it loses).</param>
    /// <param name="wanderPpmPerSqrtSecond">Standard deviation of the frequency random walk per √s; 0 for none.</param>
    /// <param name="seed">Seed of the random walk.</param>
    /// <param name="precision">The precision the clock reports (log2 seconds).</param>
    public SimulatedClock(
        DateTime start,
        double initialOffsetSeconds = 0,
        double frequencyErrorPpm = 0,
        double wanderPpmPerSqrtSecond = 0,
        int seed = 1,
        sbyte precision = -20)
    {
        ClockSlew.ValidateFinite(initialOffsetSeconds, nameof(initialOffsetSeconds));
        ClockSlew.ValidateFinite(frequencyErrorPpm, nameof(frequencyErrorPpm));
        if (!(wanderPpmPerSqrtSecond >= 0) || double.IsInfinity(wanderPpmPerSqrtSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(wanderPpmPerSqrtSecond), wanderPpmPerSqrtSecond, "The wander must be a finite, non-negative number.");
        }

        _startNanoseconds = (start.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;
        _trueNanoseconds = _startNanoseconds;
        _localOffsetSeconds = initialOffsetSeconds;
        FrequencyErrorPpm = frequencyErrorPpm;
        _wanderPpmPerSqrtSecond = wanderPpmPerSqrtSecond;
        _random = new Random(seed);
        Precision = precision;
    }

    /// <summary>True time, nanoseconds since the Unix epoch.</summary>
    public long TrueUnixNanoseconds => _trueNanoseconds;

    /// <summary>The local clock's reading, nanoseconds since the Unix epoch.</summary>
    public long UnixNanoseconds => _trueNanoseconds + (long)Math.Round(_localOffsetSeconds * 1e9);

    /// <inheritdoc/>
    public NtpTimestamp NtpNow => NtpTimestamp.FromUnixTimeNanoseconds(UnixNanoseconds);

    /// <inheritdoc/>
    public sbyte Precision { get; }

    /// <summary>Local minus true time, seconds: positive when the local clock is ahead.</summary>
    public double LocalOffsetSeconds => _localOffsetSeconds;

    /// <summary>The local oscillator's own frequency error now (ppm; positive = it gains), before any correction.</summary>
    public double FrequencyErrorPpm { get; private set; }

    /// <summary>The rate at which the local clock gains on true time now, ppm: the error plus the applied correction,
    /// not counting an offset slew in progress.</summary>
    public double ResidualFrequencyPpm => FrequencyErrorPpm + CorrectionPpm;

    /// <summary>How many constant-frequency steps the simulation has taken (at most one per second of true time).</summary>
    public long StepsTaken { get; private set; }

    // The kernel-side state a SimulatedClockControl writes.
    internal double CorrectionPpm { get; set; }

    internal double RemainingSlewSeconds { get; set; }

    internal double MaxSlewRatePpm { get; set; } = ClockSlew.DefaultMaxSlewRatePpm;

    internal LeapIndicator Leap { get; set; } = LeapIndicator.Unsynchronized;

    internal void Step(double seconds) => _localOffsetSeconds += seconds;

    /// <summary>Advances true time by <paramref name="by"/>; the local clock follows at its own rate.</summary>
    public void Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(by), by, "Simulated time only moves forward.");
        }

        long target = _trueNanoseconds + (by.Ticks * 100);
        while (_trueNanoseconds < target)
        {
            long sinceStart = _trueNanoseconds - _startNanoseconds;
            long nextBoundary = _startNanoseconds + ((sinceStart / StepNanoseconds) + 1) * StepNanoseconds;
            long end = Math.Min(target, nextBoundary);
            AdvanceWithin(end - _trueNanoseconds);
            if (_trueNanoseconds == nextBoundary && _wanderPpmPerSqrtSecond > 0)
            {
                FrequencyErrorPpm += _wanderPpmPerSqrtSecond * NextGaussian();
            }
        }
    }

    private void AdvanceWithin(long nanoseconds)
    {
        long localBefore = UnixNanoseconds;
        double elapsed = nanoseconds * 1e-9;
        double remaining = RemainingSlewSeconds;
        double slewed = ClockSlew.Progress(ref remaining, MaxSlewRatePpm, elapsed);
        RemainingSlewSeconds = remaining;
        _localOffsetSeconds += (ResidualFrequencyPpm * 1e-6 * elapsed) + slewed;
        _trueNanoseconds += nanoseconds;
        StepsTaken++;

        // kernel/time/ntp.c second_overflow(): an armed leap second is applied when the local clock passes
        // midnight UTC (inserted: 23:59:60 repeats a second, so the clock ends up one second back), then disarmed.
        // Here it lands at the end of the step that crosses midnight, within one second of it.
        if (Leap is LeapIndicator.InsertSecond or LeapIndicator.DeleteSecond
            && FloorDiv(localBefore, NanosecondsPerDay) != FloorDiv(UnixNanoseconds, NanosecondsPerDay))
        {
            _localOffsetSeconds += Leap == LeapIndicator.InsertSecond ? -1 : 1;
            Leap = LeapIndicator.NoWarning;
        }
    }

    private static long FloorDiv(long value, long divisor) => value >= 0 ? value / divisor : ((value + 1) / divisor) - 1;

    // Box-Muller: Random has no Gaussian, and this keeps the sequence a pure function of the seed.
    private double NextGaussian()
    {
        double u1 = 1.0 - _random.NextDouble();
        double u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
