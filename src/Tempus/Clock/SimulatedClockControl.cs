using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// Corrects a <see cref="SimulatedClock"/> the way the kernel corrects the real one: a frequency correction that
/// changes its rate, offsets slewed out at a bounded rate, steps at once, a leap second armed for midnight.
/// </summary>
public sealed class SimulatedClockControl : IClockControl
{
    private readonly SimulatedClock _clock;

    /// <summary>Creates the control of <paramref name="clock"/>.</summary>
    /// <param name="clock">The clock to correct.</param>
    /// <param name="maxSlewRatePpm">How fast a slew corrects an offset, ppm of elapsed time (chrony's default: 83333.333).</param>
    public SimulatedClockControl(SimulatedClock clock, double maxSlewRatePpm = ClockSlew.DefaultMaxSlewRatePpm)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ClockSlew.ValidateRate(maxSlewRatePpm);
        _clock = clock;
        _clock.MaxSlewRatePpm = maxSlewRatePpm;
    }

    /// <inheritdoc/>
    public double FrequencyPpm => _clock.CorrectionPpm;

    /// <summary>Always true: the simulated clock obeys.</summary>
    public bool CanAdjust => true;

    /// <inheritdoc/>
    public string Description => "simulated clock";

    /// <summary>The part of requested slews the clock has not corrected yet (seconds, same sign as requested).</summary>
    public double RemainingSlewSeconds => _clock.RemainingSlewSeconds;

    /// <summary>The leap second armed for the coming midnight, or <see cref="LeapIndicator.NoWarning"/> once applied.</summary>
    public LeapIndicator Leap => _clock.Leap;

    /// <summary>Whether the discipline last declared the clock synchronized.</summary>
    public bool IsSynchronized { get; private set; }

    /// <summary>The maximum error last published, seconds.</summary>
    public double MaxErrorSeconds { get; private set; }

    /// <summary>The estimated error last published, seconds.</summary>
    public double EstErrorSeconds { get; private set; }

    /// <inheritdoc/>
    public void SetFrequency(double ppm)
    {
        ClockSlew.ValidateFinite(ppm, nameof(ppm));
        _clock.CorrectionPpm = ppm;
    }

    /// <inheritdoc/>
    public void SlewOffset(double seconds)
    {
        ClockSlew.ValidateFinite(seconds, nameof(seconds));
        _clock.RemainingSlewSeconds += seconds;
    }

    /// <inheritdoc/>
    public void StepOffset(double seconds)
    {
        ClockSlew.ValidateFinite(seconds, nameof(seconds));
        _clock.Step(seconds);
    }

    /// <inheritdoc/>
    public void SetLeap(LeapIndicator leap) => _clock.Leap = leap;

    /// <inheritdoc/>
    public void SetSynchronized(bool synced, double maxErrorSeconds, double estErrorSeconds)
    {
        IsSynchronized = synced;
        MaxErrorSeconds = maxErrorSeconds;
        EstErrorSeconds = estErrorSeconds;
    }
}
