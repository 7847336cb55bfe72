using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// The clock control of <c>tempusd -x</c> (like <c>chronyd -x</c>): never touches the system clock. It keeps the
/// corrections the discipline decided on virtually, so the tracking views still show them, and offers
/// <see cref="CorrectedClock"/>: the underlying clock's time plus those corrections, slewed in at the same
/// bounded rate a real clock would use.
/// </summary>
/// <remarks>Thread-safe: the discipline writes while the control socket reads.</remarks>
public sealed class FreeRunningClockControl : IClockControl
{
    private readonly ISystemClock _underlying;
    private readonly double _maxSlewRatePpm;
    private readonly Lock _lock = new();
    private long _lastUpdateNanoseconds;
    private double _virtualOffsetSeconds;
    private double _remainingSlewSeconds;
    private double _frequencyPpm;
    private LeapIndicator _leap = LeapIndicator.Unsynchronized;

    /// <summary>Creates a control over the real clock (<see cref="RealtimeClock"/>) with chrony's default slew rate.</summary>
    public FreeRunningClockControl()
        : this(RealtimeClock.Instance)
    {
    }

    /// <summary>Creates a control that reads time from <paramref name="underlying"/> and never changes it.</summary>
    /// <param name="underlying">The clock whose readings the virtual corrections apply to.</param>
    /// <param name="maxSlewRatePpm">How fast a slew corrects an offset, in ppm of elapsed time; chrony's
    /// <c>maxslewrate</c> default is 83333.333 ppm.</param>
    public FreeRunningClockControl(ISystemClock underlying, double maxSlewRatePpm = ClockSlew.DefaultMaxSlewRatePpm)
    {
        ArgumentNullException.ThrowIfNull(underlying);
        ClockSlew.ValidateRate(maxSlewRatePpm);
        _underlying = underlying;
        _maxSlewRatePpm = maxSlewRatePpm;
        _lastUpdateNanoseconds = underlying.UnixNanoseconds;
        CorrectedClock = new Corrected(this);
    }

    /// <inheritdoc/>
    public double FrequencyPpm
    {
        get
        {
            lock (_lock)
            {
                return _frequencyPpm;
            }
        }
    }

    /// <summary>Always true: every correction takes effect, virtually.</summary>
    public bool CanAdjust => true;

    /// <inheritdoc/>
    public string Description => "free-running (-x): system clock never adjusted, corrections tracked virtually";

    /// <summary>The maximum slew rate in ppm.</summary>
    public double MaxSlewRatePpm => _maxSlewRatePpm;

    /// <summary>
    /// The correction applied so far (seconds; positive = corrected time is ahead of the underlying clock): steps,
    /// the slewed part of offsets, and what the frequency correction accumulated since it was set.
    /// </summary>
    public double VirtualOffsetSeconds
    {
        get
        {
            lock (_lock)
            {
                Update(_underlying.UnixNanoseconds);
                return _virtualOffsetSeconds;
            }
        }
    }

    /// <summary>The part of requested slews not yet applied (seconds, same sign as requested).</summary>
    public double RemainingSlewSeconds
    {
        get
        {
            lock (_lock)
            {
                Update(_underlying.UnixNanoseconds);
                return _remainingSlewSeconds;
            }
        }
    }

    /// <summary>The leap second the discipline last armed (nothing is done with it: the clock is not touched).</summary>
    public LeapIndicator Leap
    {
        get
        {
            lock (_lock)
            {
                return _leap;
            }
        }
    }

    /// <summary>Whether the discipline last declared the clock synchronized.</summary>
    public bool IsSynchronized { get; private set; }

    /// <summary>The maximum error last published, seconds.</summary>
    public double MaxErrorSeconds { get; private set; }

    /// <summary>The estimated error last published, seconds.</summary>
    public double EstErrorSeconds { get; private set; }

    /// <summary>The underlying time with the virtual corrections added: what the clock would read had it been disciplined.</summary>
    public ISystemClock CorrectedClock { get; }

    /// <inheritdoc/>
    public void SetFrequency(double ppm)
    {
        ClockSlew.ValidateFinite(ppm, nameof(ppm));
        lock (_lock)
        {
            // Bring the accumulated correction up to now at the old frequency before the new one applies.
            Update(_underlying.UnixNanoseconds);
            _frequencyPpm = ppm;
        }
    }

    /// <inheritdoc/>
    public void SlewOffset(double seconds)
    {
        ClockSlew.ValidateFinite(seconds, nameof(seconds));
        lock (_lock)
        {
            Update(_underlying.UnixNanoseconds);
            _remainingSlewSeconds += seconds;
        }
    }

    /// <inheritdoc/>
    public void StepOffset(double seconds)
    {
        ClockSlew.ValidateFinite(seconds, nameof(seconds));
        lock (_lock)
        {
            Update(_underlying.UnixNanoseconds);
            _virtualOffsetSeconds += seconds;
        }
    }

    /// <inheritdoc/>
    public void SetLeap(LeapIndicator leap)
    {
        lock (_lock)
        {
            _leap = leap;
        }
    }

    /// <inheritdoc/>
    public void SetSynchronized(bool synced, double maxErrorSeconds, double estErrorSeconds)
    {
        lock (_lock)
        {
            IsSynchronized = synced;
            MaxErrorSeconds = maxErrorSeconds;
            EstErrorSeconds = estErrorSeconds;
        }
    }

    private long CorrectedNanoseconds()
    {
        lock (_lock)
        {
            long now = _underlying.UnixNanoseconds;
            Update(now);
            return now + (long)Math.Round(_virtualOffsetSeconds * 1e9);
        }
    }

    private void Update(long nowNanoseconds)
    {
        long elapsedNanoseconds = nowNanoseconds - _lastUpdateNanoseconds;
        if (elapsedNanoseconds <= 0)
        {
            // The underlying clock went back (it was stepped by someone else): restart accounting from here.
            _lastUpdateNanoseconds = nowNanoseconds;
            return;
        }

        double elapsed = elapsedNanoseconds * 1e-9;
        _virtualOffsetSeconds += (_frequencyPpm * 1e-6 * elapsed) + ClockSlew.Progress(ref _remainingSlewSeconds, _maxSlewRatePpm, elapsed);
        _lastUpdateNanoseconds = nowNanoseconds;
    }

    private sealed class Corrected(FreeRunningClockControl owner) : ISystemClock
    {
        public long UnixNanoseconds => owner.CorrectedNanoseconds();

        public sbyte Precision => owner._underlying.Precision;

        public NtpTimestamp NtpNow => NtpTimestamp.FromUnixTimeNanoseconds(UnixNanoseconds);
    }
}
