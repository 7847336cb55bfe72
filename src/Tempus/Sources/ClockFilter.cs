namespace Tempus.Sources;

/// <summary>What the clock filter did with a new sample.</summary>
public enum ClockFilterOutcome
{
    /// <summary>The best sample in the register is new: the peer variables were updated and it may be used.</summary>
    Used,

    /// <summary>
    /// The best sample in the register is not newer than the last one used (RFC 5905 §10: a sample is used
    /// only once, and never one older than the latest used).
    /// </summary>
    Stale,

    /// <summary>
    /// The best sample's offset jumped by more than <see cref="ClockFilter.SpikeGate"/> × the jitter so far within two
    /// system poll intervals of the last used sample: a popcorn spike (RFC 5905 A.5.2), dropped.
    /// </summary>
    Spike,

    /// <summary>The register holds no valid sample (only dummy tuples).</summary>
    NoValidSample,
}

/// <summary>The clock filter's output after one sample (RFC 5905 §10).</summary>
/// <param name="Outcome">Whether <paramref name="Sample"/> is new and fit to be used.</param>
/// <param name="Sample">The lowest-delay valid sample in the register, its dispersion aged to now.</param>
/// <param name="Jitter">ψ, the RMS offset difference of the valid stages from the chosen one, in seconds.</param>
/// <param name="Dispersion">ε, the peer dispersion Σ ε_i / 2^(i+1) over the stages sorted by delay, in seconds.</param>
public readonly record struct ClockFilterResult(ClockFilterOutcome Outcome, NtpSample Sample, double Jitter, double Dispersion);

/// <summary>
/// The RFC 5905 §10 clock filter: an 8-stage shift register of samples; each update ages the older stages'
/// dispersion by PHI per second, picks the valid sample with the lowest delay, and computes jitter and the
/// peer dispersion. Deterministic and allocation-free: times are inputs, never read from a clock.
/// </summary>
public sealed class ClockFilter
{
    /// <summary>NSTAGE, the number of stages in the register (RFC 5905 §7.2).</summary>
    public const int Stages = 8;

    /// <summary>MAXDISP, the dispersion of an empty stage and the ceiling of any dispersion, in seconds (RFC 5905 §7.2).</summary>
    public const double MaxDispersion = 16;

    /// <summary>SGATE, the popcorn spike gate as a multiple of the jitter (RFC 5905 A.1.1).</summary>
    public const double SpikeGate = 3;

    private readonly Stage[] _stages = new Stage[Stages];
    private readonly Stage[] _sorted = new Stage[Stages];
    private readonly double _precision;
    private long _lastUpdateNs;
    private bool _anyUpdate;
    private long _lastUsedNs;
    private double _lastUsedOffset;
    private bool _anyUsed;
    private double _previousJitter;

    /// <summary>Creates an empty filter: every stage holds the dummy tuple (0, MAXDISP, MAXDISP, 0).</summary>
    /// <param name="localPrecision">Our clock's precision in seconds; the floor of the jitter (RFC 5905 §10).</param>
    public ClockFilter(double localPrecision)
    {
        if (!(localPrecision > 0) || double.IsInfinity(localPrecision))
        {
            throw new ArgumentOutOfRangeException(nameof(localPrecision), localPrecision, "The precision must be a positive number of seconds.");
        }

        _precision = localPrecision;
        Reset();
    }

    /// <summary>The number of stages holding a real (non-dummy) sample.</summary>
    public int ValidCount
    {
        get
        {
            int n = 0;
            foreach (Stage stage in _stages)
            {
                n += stage.Valid ? 1 : 0;
            }

            return n;
        }
    }

    /// <summary>The result of the last <see cref="Add"/> or <see cref="AddDummy"/>; the default before the first.</summary>
    public ClockFilterResult Last { get; private set; }

    /// <summary>Returns the register to its initial state, all stages dummy (RFC 5905 §10, after eight silent polls).</summary>
    public void Reset()
    {
        Array.Fill(_stages, Stage.Dummy);
        _anyUpdate = false;
        _anyUsed = false;
        _lastUpdateNs = 0;
        _lastUsedNs = 0;
        _lastUsedOffset = 0;
        _previousJitter = _precision;
        Last = default;
    }

    /// <summary>Shifts a new sample into the register and selects the best one (RFC 5905 A.5.2 clock_filter).</summary>
    /// <param name="sample">The new measurement.</param>
    /// <param name="systemPollSeconds">The system poll interval in seconds, for the popcorn spike suppressor's window.</param>
    /// <returns>The chosen sample, jitter, dispersion, and whether the chosen sample may be used.</returns>
    public ClockFilterResult Add(in NtpSample sample, double systemPollSeconds)
    {
        Shift(new Stage(sample, Math.Min(sample.Dispersion, MaxDispersion), Valid: true), sample.LocalTimeNs);
        return Select(systemPollSeconds);
    }

    /// <summary>
    /// Shifts a dummy tuple into the register, as RFC 5905 §10 does when three poll intervals pass with no
    /// valid packet, and reselects among what remains.
    /// </summary>
    /// <param name="localTimeNs">Now, on the samples' timescale.</param>
    /// <param name="systemPollSeconds">The system poll interval in seconds.</param>
    /// <returns>The filter's output; <see cref="ClockFilterOutcome.NoValidSample"/> once the register is empty.</returns>
    public ClockFilterResult AddDummy(long localTimeNs, double systemPollSeconds)
    {
        Shift(Stage.Dummy with { Sample = Stage.Dummy.Sample with { LocalTimeNs = localTimeNs } }, localTimeNs);
        return Select(systemPollSeconds);
    }

    /// <summary>
    /// The local clock was corrected at <paramref name="localNowNs"/>: shifts the kept samples as if the correction had
    /// always been in force (as <see cref="SourceStatistics.ApplyCorrection"/> does), so the popcorn spike suppressor and
    /// the staleness check compare like with like. Times move by the correction, offsets by minus it.
    /// </summary>
    /// <param name="localNowNs">When the correction was made, on the samples' timescale.</param>
    /// <param name="frequencyChangePpm">The frequency change, ppm (positive: the clock now runs faster).</param>
    /// <param name="offsetCorrection">The offset stepped or being slewed out, seconds (reference − local).</param>
    public void ApplyCorrection(long localNowNs, double frequencyChangePpm, double offsetCorrection)
    {
        if (!double.IsFinite(frequencyChangePpm) || !double.IsFinite(offsetCorrection))
        {
            throw new ArgumentOutOfRangeException(nameof(offsetCorrection), $"A clock correction must be finite: frequency change {frequencyChangePpm} ppm, offset {offsetCorrection} s.");
        }

        for (int i = 0; i < Stages; i++)
        {
            if (_stages[i].Valid)
            {
                _stages[i] = _stages[i] with { Sample = Shift(_stages[i].Sample, localNowNs, frequencyChangePpm, offsetCorrection) };
            }
        }

        if (_anyUsed)
        {
            double shift = CorrectionShift(_lastUsedNs, localNowNs, frequencyChangePpm, offsetCorrection);
            _lastUsedNs += (long)Math.Round(shift * 1e9);
            _lastUsedOffset -= shift;
        }

        if (_anyUpdate)
        {
            _lastUpdateNs += (long)Math.Round(CorrectionShift(_lastUpdateNs, localNowNs, frequencyChangePpm, offsetCorrection) * 1e9);
        }

        if (Last.Outcome != ClockFilterOutcome.NoValidSample && Last.Sample.LocalTimeNs != 0)
        {
            Last = Last with { Sample = Shift(Last.Sample, localNowNs, frequencyChangePpm, offsetCorrection) };
        }
    }

    // chrony's UTI_AdjustTimespec: a sample taken Δ before the correction moves by offset − dfreq·Δ.
    private static double CorrectionShift(long timeNs, long localNowNs, double frequencyChangePpm, double offsetCorrection) =>
        offsetCorrection - (frequencyChangePpm * 1e-6 * ((localNowNs - timeNs) / 1e9));

    private static NtpSample Shift(in NtpSample sample, long localNowNs, double frequencyChangePpm, double offsetCorrection)
    {
        double shift = CorrectionShift(sample.LocalTimeNs, localNowNs, frequencyChangePpm, offsetCorrection);
        return sample with { LocalTimeNs = sample.LocalTimeNs + (long)Math.Round(shift * 1e9), Offset = sample.Offset - shift };
    }

    private void Shift(Stage incoming, long nowNs)
    {
        // RFC 5905 A.5.2: as each tuple is shifted, its dispersion grows by PHI over the time since the last
        // filter update.
        double aging = _anyUpdate ? OnWireMeasurement.Phi * Math.Max(0, (nowNs - _lastUpdateNs) / 1e9) : 0;
        for (int i = Stages - 1; i > 0; i--)
        {
            Stage older = _stages[i - 1];
            older.Dispersion = Math.Min(older.Dispersion + aging, MaxDispersion);
            _stages[i] = older;
        }

        _stages[0] = incoming;
        _lastUpdateNs = nowNs;
        _anyUpdate = true;
    }

    private ClockFilterResult Select(double systemPollSeconds)
    {
        // RFC 5905 §10: copy the stages (newest first) and sort by increasing delay. Dummy tuples sort last.
        // Insertion sort is stable, so among equal delays the newer sample wins.
        int valid = 0;
        for (int i = 0; i < Stages; i++)
        {
            Stage s = _stages[i];
            valid += s.Valid ? 1 : 0;
            int j = i;
            while (j > 0 && SortsBefore(s, _sorted[j - 1]))
            {
                _sorted[j] = _sorted[j - 1];
                j--;
            }

            _sorted[j] = s;
        }

        // RFC 5905 §10: ε = Σ ε_i / 2^(i+1) over all stages in delay order (dummies count at MAXDISP).
        double dispersion = 0;
        for (int i = Stages - 1; i >= 0; i--)
        {
            dispersion = 0.5 * (dispersion + _sorted[i].Dispersion);
        }

        if (valid == 0)
        {
            Last = new ClockFilterResult(ClockFilterOutcome.NoValidSample, default, MaxDispersion, dispersion);
            return Last;
        }

        // RFC 5905 §10: ψ = sqrt(Σ_{j=1}^{n-1} (θ_0 − θ_j)² / (n − 1)) over the n valid tuples, floored at the
        // system precision.
        Stage best = _sorted[0];
        double sumSquares = 0;
        for (int j = 1; j < valid; j++)
        {
            double d = _sorted[j].Sample.Offset - best.Sample.Offset;
            sumSquares += d * d;
        }

        double jitter = valid > 1 ? Math.Max(Math.Sqrt(sumSquares / (valid - 1)), _precision) : _precision;
        NtpSample chosen = best.Sample with { Dispersion = best.Dispersion };

        ClockFilterOutcome outcome;
        if (_anyUsed && best.Sample.LocalTimeNs <= _lastUsedNs)
        {
            // RFC 5905 §10: a sample is used once, and never one older than the last used.
            outcome = ClockFilterOutcome.Stale;
        }
        else if (_anyUsed
            && Math.Abs(best.Sample.Offset - _lastUsedOffset) > SpikeGate * _previousJitter
            && (best.Sample.LocalTimeNs - _lastUsedNs) / 1e9 < 2 * systemPollSeconds)
        {
            // RFC 5905 A.5.2 popcorn spike suppressor: a jump of more than SGATE × jitter within two system
            // poll intervals of the last used sample is dropped. A real step outlives the window and is used.
            // The gate uses the jitter from before this sample: measured against the spike itself, the jitter
            // grows with the spike and the gate could never close on a low-delay one.
            outcome = ClockFilterOutcome.Spike;
        }
        else
        {
            outcome = ClockFilterOutcome.Used;
            _anyUsed = true;
            _lastUsedNs = best.Sample.LocalTimeNs;
            _lastUsedOffset = best.Sample.Offset;
        }

        _previousJitter = jitter;
        Last = new ClockFilterResult(outcome, chosen, jitter, dispersion);
        return Last;
    }

    private static bool SortsBefore(in Stage a, in Stage b)
    {
        if (a.Valid != b.Valid)
        {
            return a.Valid;
        }

        return a.Sample.Delay < b.Sample.Delay;
    }

    private record struct Stage(NtpSample Sample, double Dispersion, bool Valid)
    {
        public static Stage Dummy => new(new NtpSample(0, 0, MaxDispersion, MaxDispersion, 0, 0, 0, default), MaxDispersion, false);
    }
}
