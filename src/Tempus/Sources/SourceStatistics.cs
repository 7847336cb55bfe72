namespace Tempus.Sources;

/// <summary>
/// Per-source statistics in the manner of chrony's sourcestats: the last samples of one source, a weighted
/// linear regression of offset against local time giving the source's frequency and offset relative to our
/// clock, and a runs test on the residuals that discards old samples once they no longer fit a straight line
/// (after a step, or when the frequency has wandered). The properties are the columns of
/// <c>chronyc sourcestats</c>: NP, NR, Span, Frequency, Freq Skew, Offset, Std Dev.
/// </summary>
/// <remarks>
/// Memory is fixed at construction (a ring of <see cref="Capacity"/> samples plus scratch arrays of the same
/// size); <see cref="AddSample"/> allocates nothing. Times are inputs, so results are deterministic.
/// </remarks>
public sealed class SourceStatistics
{
    /// <summary>The default number of samples kept, chrony's MAX_SAMPLES.</summary>
    public const int DefaultCapacity = 64;

    /// <summary>The fewest samples the runs test will trim down to, and the fewest a regression is done with.</summary>
    public const int MinSamplesForRegression = 3;

    /// <summary>The frequency error bound reported before a regression is possible, in ppm (chrony's starting skew).</summary>
    public const double WorstCaseSkewPpm = 2000;

    // How steeply a sample's weight falls with its distance: the spread of distances above the best (their median's
    // excess) divided by this is taken as the distance excess that doubles a sample's standard deviation. chrony's
    // SD_TO_DIST_RATIO is 0.7. A sample's offset error is bounded by half its excess round trip, so on a path whose
    // jitter is queueing the error grows in step with the excess and the best samples should carry the estimate: with
    // 4, simulations of a 5 ms path with ±1 ms or ±5 ms exponential jitter and of a quiet 0.2 ms-jitter path keep 20 %
    // less noise than with 0.7 (NoisyPathAccuracyTests); steeper still (16 and up) leaves too few samples and is worse.
    private const double DistanceToDeviationRatio = 4;

    // The floor of the spread of distances (a clock's resolution): equal distances give equal weights.
    private const double MinWeightDeviation = 1e-9;

    // Residuals smaller than this are rounding, not measurement: no clock resolves a picosecond.
    private const double NegligibleResidual = 1e-12;

    private readonly long[] _times;
    private readonly double[] _offsets;
    private readonly double[] _distances;
    private readonly double[] _rootDelays;
    private readonly double[] _rootDispersions;
    private readonly double[] _x;
    private readonly double[] _y;
    private readonly double[] _w;
    private int _head;
    private int _count;

    // The regression's state: offset = _b0 + _b1·(x − _xMean), x in seconds relative to _referenceNs.
    private long _referenceNs;
    private double _b0;
    private double _b1;
    private double _xMean;
    private double _variance;
    private double _sumWeights;
    private double _sxx;
    private int _dof;

    /// <summary>Creates empty statistics keeping at most <paramref name="capacity"/> samples.</summary>
    /// <param name="capacity">The ring's size; at least <see cref="MinSamplesForRegression"/>.</param>
    public SourceStatistics(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, MinSamplesForRegression);
        Capacity = capacity;
        _times = new long[capacity];
        _offsets = new double[capacity];
        _distances = new double[capacity];
        _rootDelays = new double[capacity];
        _rootDispersions = new double[capacity];
        _x = new double[capacity];
        _y = new double[capacity];
        _w = new double[capacity];
        Clear();
    }

    /// <summary>The most samples kept; the oldest is dropped when a new one arrives and the ring is full.</summary>
    public int Capacity { get; }

    /// <summary>NP: the number of samples currently kept.</summary>
    public int SampleCount => _count;

    /// <summary>NR: the number of runs of same-signed residuals in the last regression (0 before one).</summary>
    public int Runs { get; private set; }

    /// <summary>Span: seconds from the oldest kept sample to the newest.</summary>
    public double SpanSeconds => _count == 0 ? 0 : (TimeAt(_count - 1) - TimeAt(0)) / 1e9;

    /// <summary>
    /// Frequency: the rate at which the offset (reference − local) changes, in ppm. Positive: the source runs
    /// fast relative to our clock, that is, our clock is slow relative to the source.
    /// </summary>
    public double FrequencyPpm => _b1 * 1e6;

    /// <summary>Freq Skew: the 95 % error bound of <see cref="FrequencyPpm"/>, in ppm.</summary>
    public double SkewPpm { get; private set; }

    /// <summary>Offset: the regression's estimate of the offset (reference − local) at the newest sample, in seconds.</summary>
    public double OffsetSeconds => _count == 0 ? 0 : EstimatedOffsetAt(TimeAt(_count - 1));

    /// <summary>Std Dev: the estimated standard deviation of the samples about the regression line, in seconds.</summary>
    public double StandardDeviationSeconds => Math.Sqrt(_variance);

    /// <summary>The local time of the newest sample in nanoseconds, or 0 when empty.</summary>
    public long LastSampleTimeNs => _count == 0 ? 0 : TimeAt(_count - 1);

    /// <summary>Whether enough samples are kept for a regression (<see cref="MinSamplesForRegression"/>).</summary>
    public bool HasRegression => _count >= MinSamplesForRegression;

    /// <summary>Forgets every sample, as after a step of the local clock or a source reset.</summary>
    public void Clear()
    {
        _head = 0;
        _count = 0;
        Runs = 0;
        SkewPpm = WorstCaseSkewPpm;
        _referenceNs = 0;
        _b0 = 0;
        _b1 = 0;
        _xMean = 0;
        _variance = 0;
        _sumWeights = 0;
        _sxx = 0;
        _dof = 0;
    }

    /// <summary>
    /// Adds a sample (dropping the oldest when full), redoes the regression, and trims old samples that the
    /// runs test says no longer fit. Samples must arrive in increasing local time.
    /// </summary>
    /// <param name="sample">The measurement, typically the clock filter's output.</param>
    public void AddSample(in NtpSample sample)
    {
        if (_count > 0 && sample.LocalTimeNs <= TimeAt(_count - 1))
        {
            throw new ArgumentException(
                $"Samples must arrive in increasing local time: {sample.LocalTimeNs} ns is not after {TimeAt(_count - 1)} ns.",
                nameof(sample));
        }

        if (_count == Capacity)
        {
            _head = (_head + 1) % Capacity;
            _count--;
        }

        int slot = (_head + _count) % Capacity;
        _times[slot] = sample.LocalTimeNs;
        _offsets[slot] = sample.Offset;
        _distances[slot] = Math.Max(sample.Distance, 0);
        _rootDelays[slot] = Math.Max(sample.RootDelay + sample.Delay, 0);
        _rootDispersions[slot] = Math.Max(sample.RootDispersion + sample.Dispersion, 0);
        _count++;
        Recompute();
    }

    /// <summary>
    /// The local clock was corrected at <paramref name="localNowNs"/>: shifts every kept sample (its local time and its
    /// offset) to where it would lie had the correction always been in force, and redoes the regression, as chrony's
    /// SST_SlewSamples does. Without this a slew or step would look like a change of the source's offset, and a
    /// frequency change like a change of its frequency.
    /// </summary>
    /// <remarks>
    /// A sample taken <c>e = now − t</c> seconds before the correction would have read the local time
    /// <c>t + offsetCorrection − frequencyChange·e</c>, and so its offset (reference − local) is lowered by the same
    /// amount. The slope of the regression becomes <c>(f − Δf) / (1 + Δf)</c>. Allocates nothing.
    /// </remarks>
    /// <param name="localNowNs">When the correction was made, on the samples' timescale (the local clock before it).</param>
    /// <param name="frequencyChangePpm">How much the clock's rate was changed, ppm; positive = it now runs faster.</param>
    /// <param name="offsetCorrection">Seconds (reference − local) stepped at once or being slewed out: positive = the
    /// local clock is (being) moved forward.</param>
    public void ApplyCorrection(long localNowNs, double frequencyChangePpm, double offsetCorrection)
    {
        if (!double.IsFinite(frequencyChangePpm) || !double.IsFinite(offsetCorrection))
        {
            throw new ArgumentOutOfRangeException(
                nameof(frequencyChangePpm),
                $"A clock correction must be finite: frequency change {frequencyChangePpm} ppm, offset {offsetCorrection} s.");
        }

        if (_count == 0 || (frequencyChangePpm == 0 && offsetCorrection == 0))
        {
            return;
        }

        double dfreq = frequencyChangePpm * 1e-6;
        for (int i = 0; i < _count; i++)
        {
            int slot = (_head + i) % Capacity;
            double elapsed = (localNowNs - _times[slot]) / 1e9;
            double shift = offsetCorrection - dfreq * elapsed;
            _times[slot] += (long)Math.Round(shift * 1e9);
            _offsets[slot] -= shift;
        }

        // Shifts differ between samples by dfreq·Δt, normally far below the gap between samples; a correction so
        // large that it reorders them leaves nothing trustworthy: start over, as after an unknown step.
        for (int i = 1; i < _count; i++)
        {
            if (TimeAt(i) <= TimeAt(i - 1))
            {
                Clear();
                return;
            }
        }

        Recompute();
    }

    /// <summary>The regression's offset (reference − local) at a local time, in seconds; extrapolates beyond the newest sample.</summary>
    /// <param name="localTimeNs">The local time, on the samples' timescale.</param>
    /// <returns>The estimated offset, or 0 with no samples.</returns>
    public double EstimatedOffsetAt(long localTimeNs)
    {
        if (_count == 0)
        {
            return 0;
        }

        double x = (localTimeNs - _referenceNs) / 1e9;
        return _b0 + _b1 * (x - _xMean);
    }

    /// <summary>
    /// The 95 % error bound of <see cref="EstimatedOffsetAt"/> at a local time, in seconds: the regression's
    /// uncertainty in offset and frequency carried to that time. Selection adds it to the source's root
    /// distance to form the interval offset ± bound.
    /// </summary>
    /// <param name="localTimeNs">The local time, on the samples' timescale.</param>
    /// <returns>The bound; <see cref="double.PositiveInfinity"/> before a regression is possible.</returns>
    public double OffsetErrorBoundAt(long localTimeNs)
    {
        if (!HasRegression)
        {
            return double.PositiveInfinity;
        }

        double dx = (localTimeNs - _referenceNs) / 1e9 - _xMean;
        double variance = _variance * (1 / _sumWeights + (_sxx > 0 ? dx * dx / _sxx : 0));
        return StudentT95(_dof) * Math.Sqrt(variance);
    }

    /// <summary>
    /// The root delay and root dispersion through this source at a local time, from the kept sample that bounds the
    /// offset most tightly then (chrony's best single sample): the smallest root distance
    /// (root delay + delay)/2 + root dispersion + dispersion, the dispersion grown at <paramref name="growthRate"/> since
    /// the sample was taken. Unlike the clock filter's lowest-delay pick, whose dispersion ages for up to eight polls,
    /// an old sample is chosen only while its lower delay outweighs its age.
    /// </summary>
    /// <param name="localTimeNs">The local time, on the samples' timescale.</param>
    /// <param name="growthRate">How fast a sample's dispersion grows with its age, seconds per second.</param>
    /// <param name="rootDelay">The chosen sample's root delay (the server's plus the measured round trip), seconds.</param>
    /// <param name="rootDispersion">The chosen sample's root dispersion (the server's plus its own), grown to
    /// <paramref name="localTimeNs"/>, seconds.</param>
    /// <returns>False with no samples (both outputs 0).</returns>
    public bool TryGetRootEstimates(long localTimeNs, double growthRate, out double rootDelay, out double rootDispersion)
    {
        rootDelay = 0;
        rootDispersion = 0;
        double best = double.PositiveInfinity;
        for (int i = 0; i < _count; i++)
        {
            int slot = (_head + i) % Capacity;
            double dispersion = _rootDispersions[slot] + Math.Max(0, (localTimeNs - _times[slot]) / 1e9) * growthRate;
            double distance = _rootDelays[slot] / 2 + dispersion;
            if (distance < best)
            {
                best = distance;
                rootDelay = _rootDelays[slot];
                rootDispersion = dispersion;
            }
        }

        return _count > 0;
    }

    /// <summary>The standard error (one sigma) of <see cref="EstimatedOffsetAt"/> at a local time, seconds: what chrony
    /// adds to the root dispersion for the uncertainty of the regression's offset.</summary>
    /// <param name="localTimeNs">The local time, on the samples' timescale.</param>
    /// <returns>The standard error; 0 before a regression is possible.</returns>
    public double OffsetStandardErrorAt(long localTimeNs)
    {
        if (!HasRegression)
        {
            return 0;
        }

        double dx = (localTimeNs - _referenceNs) / 1e9 - _xMean;
        return Math.Sqrt(_variance * (1 / _sumWeights + (_sxx > 0 ? dx * dx / _sxx : 0)));
    }

    private long TimeAt(int i) => _times[(_head + i) % Capacity];

    private void Recompute()
    {
        int n = _count;
        _referenceNs = TimeAt(n - 1);
        if (n < MinSamplesForRegression)
        {
            // One or two points: the newest offset, no frequency, the worst-case skew.
            _xMean = 0;
            _b0 = _offsets[(_head + n - 1) % Capacity];
            _b1 = 0;
            _variance = 0;
            _sumWeights = n;
            _sxx = 0;
            _dof = 0;
            Runs = 0;
            SkewPpm = WorstCaseSkewPpm;
            return;
        }

        // x relative to the newest sample keeps full double precision whatever the timescale's epoch.
        double minDistance = double.PositiveInfinity;
        for (int i = 0; i < n; i++)
        {
            _x[i] = (TimeAt(i) - _referenceNs) / 1e9;
            _y[i] = _offsets[(_head + i) % Capacity];
            minDistance = Math.Min(minDistance, _distances[(_head + i) % Capacity]);
        }

        // Weights in chrony's manner (sourcestats.c): a sample's variance counts as (1 + excess / sd)² times the best
        // one's, where excess is how far its distance lies above the smallest and sd is the spread of distances, taken
        // from their median. The previous fit's own deviation would feed back on itself: a lucky fit would make the
        // weights steeper, leaving fewer samples to carry the next one.
        for (int i = 0; i < n; i++)
        {
            _w[i] = _distances[(_head + i) % Capacity];
        }

        Span<double> sorted = _w.AsSpan(0, n);
        sorted.Sort();
        double median = (n & 1) == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        double sd = Math.Clamp((median - minDistance) / DistanceToDeviationRatio, MinWeightDeviation, Math.Max(minDistance, MinWeightDeviation));
        for (int i = 0; i < n; i++)
        {
            double excess = Math.Max(0, _distances[(_head + i) % Capacity] - minDistance - MinWeightDeviation);
            double factor = 1 + excess / sd;
            _w[i] = 1 / (factor * factor);
        }

        // Try the full set, then drop the oldest one at a time until the residuals pass the runs test or only
        // the minimum remains (chrony's RGR_FindBestRegression).
        int start = 0;
        int runs;
        while (true)
        {
            runs = Fit(start, n);
            int m = n - start;
            if (runs > CriticalRuns(m) || m <= MinSamplesForRegression)
            {
                break;
            }

            start++;
        }

        Runs = runs;
        if (start > 0)
        {
            // The older regime no longer fits: forget it, as chrony prunes its register.
            _head = (_head + start) % Capacity;
            _count -= start;
        }

        SkewPpm = StudentT95(_dof) * Math.Sqrt(_sxx > 0 ? _variance / _sxx : 0) * 1e6;
    }

    // Weighted least squares over points [start, n) with x centred at the weighted mean, so the intercept and
    // slope are uncorrelated. Returns the number of runs of residual signs.
    private int Fit(int start, int n)
    {
        double sw = 0, swx = 0, swy = 0;
        for (int i = start; i < n; i++)
        {
            sw += _w[i];
            swx += _w[i] * _x[i];
            swy += _w[i] * _y[i];
        }

        double xMean = swx / sw;
        double yMean = swy / sw;
        double sxx = 0, sxy = 0;
        for (int i = start; i < n; i++)
        {
            double dx = _x[i] - xMean;
            sxx += _w[i] * dx * dx;
            sxy += _w[i] * dx * (_y[i] - yMean);
        }

        double b1 = sxx > 0 ? sxy / sxx : 0;
        double ss = 0;
        double maxAbs = 0;
        for (int i = start; i < n; i++)
        {
            double r = _y[i] - (yMean + b1 * (_x[i] - xMean));
            ss += _w[i] * r * r;
            maxAbs = Math.Max(maxAbs, Math.Abs(r));
        }

        int m = n - start;
        _xMean = xMean;
        _b0 = yMean;
        _b1 = b1;
        _sumWeights = sw;
        _sxx = sxx;
        _dof = m - 2;
        _variance = ss / _dof;

        if (maxAbs <= NegligibleResidual)
        {
            // An exact fit: the signs of rounding errors say nothing about the model. Report it as passing.
            return m;
        }

        int runs = 1;
        bool positive = _y[start] - (yMean + b1 * (_x[start] - xMean)) >= 0;
        for (int i = start + 1; i < n; i++)
        {
            bool p = _y[i] - (yMean + b1 * (_x[i] - xMean)) >= 0;
            if (p != positive)
            {
                runs++;
                positive = p;
            }
        }

        return runs;
    }

    /// <summary>
    /// The runs test's critical value for <paramref name="n"/> residuals: fewer runs than this + 1 means, at the
    /// 5 % level, that the residuals are not random and the line does not fit.
    /// </summary>
    /// <remarks>
    /// Residual signs of a good fit split about evenly, n1 = ⌊n/2⌋ and n2 = ⌈n/2⌉; the number of runs then has
    /// mean 2·n1·n2/n + 1 and variance 2·n1·n2·(2·n1·n2 − n)/(n²·(n − 1)). The critical value is the one-sided 5 %
    /// point of its normal approximation, rounded down; below 8 residuals the test cannot reject (as in chrony,
    /// whose table this reproduces).
    /// </remarks>
    /// <param name="n">The number of residuals.</param>
    /// <returns>The largest number of runs that still rejects the fit.</returns>
    internal static int CriticalRuns(int n)
    {
        if (n < 8)
        {
            return 0;
        }

        double n1 = n / 2;
        double n2 = n - n1;
        double product = 2 * n1 * n2;
        double mean = product / n + 1;
        double variance = product * (product - n) / ((double)n * n * (n - 1));
        return (int)Math.Floor(mean - 1.6448536269514722 * Math.Sqrt(variance));
    }

    // Two-sided 95 % quantiles of Student's t for 1..20 degrees of freedom; beyond, the normal value rounded up.
    // A static array, not a ReadOnlySpan property: a span of doubles from a collection expression allocated
    // on every access in the allocation test.
    private static readonly double[] s_studentT95 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    ];

    private static double StudentT95(int dof) =>
        dof <= 0 ? double.PositiveInfinity : dof <= s_studentT95.Length ? s_studentT95[dof - 1] : 2.0;
}
