using System.Globalization;
using Tempus.Clock;
using Tempus.Control;
using Tempus.Protocol;

namespace Tempus.Discipline;

/// <summary>
/// The clock discipline, in the manner of chrony's reference.c: each update from selection corrects the frequency
/// (weighted by how well it is known), slews the offset out or steps it under <c>makestep</c>, guards against
/// <c>maxchange</c>, arms leap seconds on the last day of June and December, publishes the synchronization status,
/// keeps the drift file, and tells the sources of every correction it makes so their samples stay consistent.
/// </summary>
/// <remarks>
/// Single-threaded by design, like <see cref="SyncEngine"/> which owns it: the daemon serializes every call with
/// one lock. All times are inputs (cooked local time, Unix ns), so simulations are deterministic.
/// </remarks>
public sealed class ClockDiscipline
{
    // chrony's MIN_SKEW: a skew is never taken as better than this.
    private const double MinSkew = 1e-12;

    // The kernel's limit on maxerror/esterror (sys_timex.c MAX_SYNC_ERROR), seconds.
    private const double MaxSyncError = 16;

    private const long NanosecondsPerDay = 86_400L * 1_000_000_000L;

    private readonly IClockControl _control;
    private readonly DisciplineOptions _options;
    private readonly Action<ClockCorrection>? _onCorrected;
    private int _makeStepLimit;
    private int _maxChangeStart;
    private int _maxChangeIgnore;

    // Fractions (s/s), as chrony keeps them; reported in ppm.
    private double _skew = 1.0;
    private double _residualFrequency;

    private double _rootDelay = 1.0;
    private double _rootDispersion = 1.0;
    private double _offsetSd;
    private long _referenceTimeNs;
    private long _lastUpdateNs;
    private double _updateInterval;
    private double _lastOffset;
    private double _averageSquaredOffset;
    private bool _averageMoving;
    private double _driftFileAge;
    private int _leapSecond;

    /// <summary>Creates the discipline; loads the drift file when one is configured (chrony's REF_Initialise).</summary>
    /// <param name="control">The clock it corrects.</param>
    /// <param name="options">The discipline directives.</param>
    /// <param name="onCorrected">Called after every correction (frequency, slew or step), before the method that
    /// made it returns: the engine passes it on to every source.</param>
    public ClockDiscipline(IClockControl control, DisciplineOptions options, Action<ClockCorrection>? onCorrected = null)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(options);
        _control = control;
        _options = options;
        _onCorrected = onCorrected;
        _makeStepLimit = options.MakeStepThreshold is null ? 0 : options.MakeStepLimit;
        _maxChangeStart = options.MaxChangeOffset is null ? -1 : options.MaxChangeStart;
        _maxChangeIgnore = options.MaxChangeIgnore;

        if (options.DriftFile is { } path)
        {
            DriftFileReading reading = DriftFile.Read(path);
            InitialDrift = reading;
            if (reading.IsValid)
            {
                _control.SetFrequency(Math.Clamp(reading.ClockFrequencyPpm, -options.MaxDriftPpm, options.MaxDriftPpm));
                _skew = Math.Max(reading.SkewPpm!.Value * 1e-6, MinSkew);
            }
        }
    }

    /// <summary>What the drift file gave at start (null without <c>driftfile</c>); its error is for the log.</summary>
    public DriftFileReading? InitialDrift { get; }

    /// <summary>Why the last save of the drift file failed, or null.</summary>
    public string? LastDriftFileError { get; private set; }

    /// <summary>Clock updates applied since start (ignored ones not counted); <c>makestep</c> and <c>nocerttimecheck</c> count these.</summary>
    public long Updates { get; private set; }

    /// <summary>Whether the last update made the clock synchronized (and no loss of the system peer since).</summary>
    public bool IsSynchronized { get; private set; }

    /// <summary>
    /// <c>maxchange</c> gave up: an offset was too large once more than allowed. The daemon must exit (chronyd exits
    /// with an error); the discipline ignores every update from then on.
    /// </summary>
    public bool MustExit { get; private set; }

    /// <summary>Why <see cref="MustExit"/> is set, for the log, or null.</summary>
    public string? ExitReason { get; private set; }

    /// <summary>The stratum published: the system peer's plus one, 16 when unsynchronized.</summary>
    public int Stratum { get; private set; } = 16;

    /// <summary>The reference id published (the system peer's).</summary>
    public uint ReferenceId { get; private set; }

    /// <summary>The system peer's name at the last update.</summary>
    public string ReferenceName { get; private set; } = "";

    /// <summary>The leap status published: what the sources announce, kept only on a day a leap second may occur.</summary>
    public LeapIndicator Leap { get; private set; } = LeapIndicator.Unsynchronized;

    /// <summary>The local (cooked) time of the last update, Unix ns; 0 before the first.</summary>
    public long ReferenceTimeNs => _referenceTimeNs;

    /// <summary>The offset of the last update, seconds (reference − local).</summary>
    public double LastOffset => _lastOffset;

    /// <summary>The moving RMS of the offsets (chrony's avg2_offset: quick at start, then a 0.1 factor), seconds.</summary>
    public double RmsOffset => Math.Sqrt(_averageSquaredOffset);

    /// <summary>The estimated error bound of the frequency correction, ppm.</summary>
    public double SkewPpm => _skew * 1e6;

    /// <summary>The part of the system peer's frequency estimate not applied at the last update, ppm.</summary>
    public double ResidualFrequencyPpm => _residualFrequency * 1e6;

    /// <summary>Seconds between the last two updates (0 until there are two).</summary>
    public double UpdateInterval => _updateInterval;

    /// <summary>Root delay published, seconds.</summary>
    public double RootDelay => _rootDelay;

    /// <summary>
    /// The root dispersion to publish at <paramref name="localNowNs"/>: the value at the last update grown since by
    /// the skew, the residual frequency and <c>maxclockerror</c> (chrony's get_root_dispersion); 1 s before any update.
    /// </summary>
    /// <param name="localNowNs">Now, cooked local time, Unix ns.</param>
    /// <returns>Seconds.</returns>
    public double RootDispersionAt(long localNowNs)
    {
        if (_referenceTimeNs == 0)
        {
            return 1.0;
        }

        double elapsed = Math.Abs((localNowNs - _referenceTimeNs) / 1e9);
        return _rootDispersion + elapsed * RootDispersionGrowth;
    }

    /// <summary>How fast the root dispersion grows after an update, seconds per second: skew + |residual frequency| +
    /// <c>maxclockerror</c>.</summary>
    public double RootDispersionGrowth => _skew + Math.Abs(_residualFrequency) + _options.MaxClockErrorPpm * 1e-6;

    /// <summary>
    /// One clock update from the system peer (chrony's REF_SetReference): frequency, offset, step or slew, leap,
    /// synchronization status, drift file, and the sources told of the correction.
    /// </summary>
    /// <param name="input">The combined offset and the system peer's estimates.</param>
    /// <param name="localNowNs">Now on the cooked local timescale, Unix ns (the offset is as of this instant).</param>
    /// <returns>What was done.</returns>
    public DisciplineAction Update(in DisciplineInput input, long localNowNs)
    {
        if (!double.IsFinite(input.Offset) || !double.IsFinite(input.FrequencyPpm) || !double.IsFinite(input.SkewPpm))
        {
            throw new ArgumentOutOfRangeException(nameof(input), $"A clock update must be finite: offset {input.Offset} s, frequency {input.FrequencyPpm} ppm, skew {input.SkewPpm} ppm.");
        }

        if (MustExit)
        {
            return DisciplineAction.MaxChangeExceeded;
        }

        double offset = input.Offset;
        if (!IsOffsetAcceptable(offset))
        {
            return MustExit ? DisciplineAction.MaxChangeExceeded : DisciplineAction.IgnoredByMaxChange;
        }

        // chrony's get_clock_estimates: weigh the measured frequency against what we believe (no change, with our
        // skew), by their skews; ignore estimates too poor to track.
        double measured = input.FrequencyPpm * 1e-6;
        double measuredSkew = Math.Abs(input.SkewPpm) * 1e-6;
        double gain = measuredSkew > _options.MaxUpdateSkewPpm * 1e-6
            ? 0
            : 3 * _skew * _skew / (3 * _skew * _skew + measuredSkew * measuredSkew);
        gain = Math.Clamp(gain, 0, 1);
        double estimated = gain * measured;
        _residualFrequency = measured - estimated;
        double extraSkew = Math.Sqrt(estimated * estimated * (1 - gain) + _residualFrequency * _residualFrequency * gain);
        _skew = Math.Max(_skew + gain * (measuredSkew - _skew) + extraSkew, MinSkew);

        double oldFrequency = _control.FrequencyPpm;

        // Our estimate is a gradient of (reference − local) against local time; making the clock run faster by it,
        // on top of the current correction, composes as (1 + f)(1 + F) − 1.
        double newFrequency = Math.Clamp(oldFrequency + estimated * 1e6 + oldFrequency * estimated, -_options.MaxDriftPpm, _options.MaxDriftPpm);
        double frequencyChange = (newFrequency - oldFrequency) / (1 + oldFrequency * 1e-6);

        _updateInterval = _lastUpdateNs != 0 ? Math.Max(0, (localNowNs - _lastUpdateNs) / 1e9) : 0;
        _lastUpdateNs = localNowNs;
        _referenceTimeNs = localNowNs;
        _lastOffset = offset;
        _offsetSd = input.OffsetSd;
        _rootDelay = input.RootDelay;
        _rootDispersion = input.RootDispersion;
        Stratum = input.Stratum;
        ReferenceId = input.ReferenceId;
        ReferenceName = input.ReferenceName;
        IsSynchronized = input.Leap != LeapIndicator.Unsynchronized;
        Updates++;

        if (newFrequency != oldFrequency)
        {
            _control.SetFrequency(newFrequency);
        }

        // The measured offset is on the cooked timescale, which already counts the slew in progress; the raw clock
        // is off by offset + remaining. A step cancels the slew and moves the raw clock by all of it.
        double remaining = _control.RemainingSlewSeconds;
        bool step = StepAllowed(Math.Abs(offset + remaining));
        if (step)
        {
            if (remaining != 0)
            {
                _control.SlewOffset(-remaining);
            }

            _control.StepOffset(offset + remaining);
        }
        else if (offset != 0)
        {
            _control.SlewOffset(offset);
        }

        // Either way the cooked timescale moved by the offset at once: that is what the sources must apply.
        _onCorrected?.Invoke(new ClockCorrection(localNowNs, frequencyChange, offset));

        UpdateLeap(input.Leap, localNowNs);
        PublishSyncStatus(localNowNs);

        if (_averageMoving)
        {
            _averageSquaredOffset += 0.1 * (offset * offset - _averageSquaredOffset);
        }
        else
        {
            if (_averageSquaredOffset > 0 && _averageSquaredOffset < offset * offset)
            {
                _averageMoving = true;
            }

            _averageSquaredOffset = offset * offset;
        }

        if (_options.DriftFile is not null)
        {
            _driftFileAge += _updateInterval;
            if (_driftFileAge >= _options.DriftFileIntervalSeconds)
            {
                SaveDriftFile();
                _driftFileAge = 0;
            }
        }

        return step ? DisciplineAction.Stepped : DisciplineAction.Slewed;
    }

    /// <summary>
    /// No system peer any more (chrony's REF_SetUnsynchronised): publish leap 3 / stratum 16, disarm a leap second,
    /// tell the kernel the clock is unsynchronized. The frequency correction stays.
    /// </summary>
    /// <param name="localNowNs">Now, cooked local time, Unix ns.</param>
    public void SetUnsynchronized(long localNowNs)
    {
        UpdateLeap(LeapIndicator.Unsynchronized, localNowNs);
        IsSynchronized = false;
        Stratum = 16;
        ReferenceId = 0;
        ReferenceName = "";
        _control.SetSynchronized(false, MaxSyncError, MaxSyncError);
    }

    /// <summary>
    /// <c>tempusctl makestep</c> (chronyc makestep): cancels the slew in progress and steps the clock by what remained
    /// of it, now.
    /// </summary>
    /// <returns>The step made, seconds (reference − local); 0 when nothing was outstanding.</returns>
    public double MakeStep()
    {
        double remaining = _control.RemainingSlewSeconds;
        if (remaining == 0)
        {
            return 0;
        }

        _control.SlewOffset(-remaining);
        _control.StepOffset(remaining);

        // The sources measure on the cooked timescale (raw + remaining), which does not move here: the raw clock
        // took the remaining part at once. Their samples need no correction.
        return remaining;
    }

    /// <summary>Writes the drift file now (at exit, and every <c>DriftFileIntervalSeconds</c> of updates); errors
    /// land in <see cref="LastDriftFileError"/>, since a full disk must not stop time keeping.</summary>
    /// <returns>Whether the file was written (false without <c>driftfile</c> or on error).</returns>
    public bool SaveDriftFile()
    {
        if (_options.DriftFile is not { } path)
        {
            return false;
        }

        try
        {
            DriftFile.Write(path, _control.FrequencyPpm, SkewPpm);
            LastDriftFileError = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LastDriftFileError = $"cannot save drift file {path}: {e.Message}";
            return false;
        }
    }

    /// <summary>The <c>tempusctl tracking</c> view at <paramref name="localNowNs"/>.</summary>
    /// <param name="localNowNs">Now, cooked local time, Unix ns.</param>
    /// <returns>The report.</returns>
    public TrackingReport Report(long localNowNs) => new()
    {
        ReferenceId = ReferenceId,
        ReferenceName = ReferenceName,
        Stratum = Stratum,
        ReferenceTimeUnixNs = _referenceTimeNs,
        SystemTimeOffset = _control.RemainingSlewSeconds,
        LastOffset = _lastOffset,
        RmsOffset = RmsOffset,
        FrequencyPpm = _control.FrequencyPpm,
        ResidualFrequencyPpm = ResidualFrequencyPpm,
        SkewPpm = SkewPpm,
        RootDelay = _rootDelay,
        RootDispersion = RootDispersionAt(localNowNs),
        UpdateInterval = _updateInterval,
        Leap = IsSynchronized ? Leap : LeapIndicator.Unsynchronized,
        Updates = Updates,
        ClockControl = _control.Description,
    };

    /// <summary>Whether a leap second may occur at the end of the UTC day containing <paramref name="unixNs"/>:
    /// only the last day of June and of December, as chrony allows.</summary>
    /// <param name="unixNs">A time, Unix ns.</param>
    /// <returns>True on June 30 and December 31.</returns>
    public static bool IsLeapSecondDay(long unixNs)
    {
        long day = unixNs >= 0 ? unixNs / NanosecondsPerDay : ((unixNs + 1) / NanosecondsPerDay) - 1;
        DateTime date = DateTime.UnixEpoch.AddDays(day);
        return (date.Month == 6 && date.Day == 30) || (date.Month == 12 && date.Day == 31);
    }

    /// <summary>
    /// Whether <paramref name="localNowNs"/> is within 5 s of the midnight of an armed leap second (chrony's
    /// REF_IsLeapSecondClose): around it the local clock and the servers' repeat their second at slightly different
    /// moments, so a measurement can be a second off. The engine makes no clock update then; sources may drop samples.
    /// </summary>
    /// <param name="localNowNs">Now, cooked local time, Unix ns.</param>
    /// <returns>True in the 10 s around a leap second that was armed.</returns>
    public bool IsLeapSecondClose(long localNowNs)
    {
        if (_leapSecond == 0)
        {
            return false;
        }

        const long margin = 5_000_000_000L;
        long sinceMidnight = ((localNowNs % NanosecondsPerDay) + NanosecondsPerDay) % NanosecondsPerDay;
        return sinceMidnight < margin || NanosecondsPerDay - sinceMidnight < margin;
    }

    // chrony's is_offset_ok (maxchange).
    private bool IsOffsetAcceptable(double offset)
    {
        if (_maxChangeStart < 0)
        {
            return true;
        }

        if (_maxChangeStart > 0)
        {
            _maxChangeStart--;
            return true;
        }

        double limit = _options.MaxChangeOffset!.Value;
        if (Math.Abs(offset) <= limit)
        {
            return true;
        }

        if (_maxChangeIgnore == 0)
        {
            MustExit = true;
            ExitReason = string.Create(CultureInfo.InvariantCulture,
                $"adjustment of {offset:F3} seconds exceeds the allowed maximum of {limit:F3} seconds (maxchange): exiting");
        }
        else if (_maxChangeIgnore > 0)
        {
            _maxChangeIgnore--;
        }

        return false;
    }

    // chrony's is_step_limit_reached (makestep): the limit counts updates, stepping or not.
    private bool StepAllowed(double absOffset)
    {
        if (_makeStepLimit == 0)
        {
            return false;
        }

        if (_makeStepLimit > 0)
        {
            _makeStepLimit--;
        }

        return absOffset > _options.MakeStepThreshold!.Value;
    }

    // chrony's update_leap_status: an announcement counts only on a day a leap second may happen; the kernel
    // (or the simulated clock) applies an armed one at the coming midnight.
    private void UpdateLeap(LeapIndicator leap, long localNowNs)
    {
        int leapSecond = 0;
        if (leap is LeapIndicator.InsertSecond or LeapIndicator.DeleteSecond)
        {
            if (IsLeapSecondDay(localNowNs))
            {
                leapSecond = leap == LeapIndicator.InsertSecond ? 1 : -1;
            }
            else
            {
                leap = LeapIndicator.NoWarning;
            }
        }

        if (leapSecond != _leapSecond)
        {
            _leapSecond = leapSecond;
            if (_options.ApplyLeapSeconds)
            {
                _control.SetLeap(leapSecond > 0 ? LeapIndicator.InsertSecond : leapSecond < 0 ? LeapIndicator.DeleteSecond : LeapIndicator.NoWarning);
            }
        }

        Leap = leap;
    }

    // chrony's update_sync_status: estimated error from the offset spread, maximum error from the root distance. As
    // chrony's timex driver does on Linux, the kernel is told "synchronized" (STA_UNSYNC cleared, which starts its
    // 11-minute RTC writes) only under rtcsync, and never with a maximum error of 16 s or more.
    private void PublishSyncStatus(long localNowNs)
    {
        double maxError = _rootDelay / 2 + RootDispersionAt(localNowNs);
        double estError = Math.Min(_offsetSd, MaxSyncError);
        bool kernelSynchronized = IsSynchronized && _options.RtcSync && maxError < MaxSyncError;
        _control.SetSynchronized(kernelSynchronized, Math.Min(maxError, MaxSyncError), estError);
    }
}
