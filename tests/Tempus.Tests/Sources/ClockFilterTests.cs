using Tempus.Protocol;
using Tempus.Sources;
using Tempus.Testing;

namespace Tempus.Tests.Sources;

public sealed class ClockFilterTests
{
    private const double Precision = 1e-6;
    private const double Poll = 64;

    [Fact]
    public void EmptyFilterHasMaximumDispersionAndNoSample()
    {
        var filter = new ClockFilter(Precision);

        ClockFilterResult r = filter.AddDummy(0, Poll);

        Assert.Equal(ClockFilterOutcome.NoValidSample, r.Outcome);

        // RFC 5905 §10 (a): all dummies give a little less than 16 s: 16·(1 − 2^-8).
        Assert.Equal(16 * (1 - Math.Pow(2, -8)), r.Dispersion, 12);
    }

    [Fact]
    public void TheSampleWithTheLowestDelayIsChosen()
    {
        var filter = new ClockFilter(Precision);
        double[] delays = [0.030, 0.012, 0.050, 0.025];
        ClockFilterResult r = default;
        for (int i = 0; i < delays.Length; i++)
        {
            r = filter.Add(Sample(i * 64, offset: 0.001 * i, delay: delays[i]), Poll);
        }

        Assert.Equal(0.012, r.Sample.Delay);
        Assert.Equal(0.001, r.Sample.Offset);
        Assert.Equal(4, filter.ValidCount);

        // The chosen sample (from t = 64 s) was used on arrival; it is not used again.
        Assert.Equal(ClockFilterOutcome.Stale, r.Outcome);
    }

    [Fact]
    public void OlderStagesAgeAtPhi()
    {
        var filter = new ClockFilter(Precision);
        filter.Add(Sample(0, 0.0, 0.010, dispersion: 0.001), Poll);
        ClockFilterResult r = filter.Add(Sample(100, 0.0, 0.020, dispersion: 0.001), Poll);

        // The first (lower-delay) sample is chosen; after 100 s its dispersion grew by 15 ppm × 100 s.
        Assert.Equal(0.001 + 15e-6 * 100, r.Sample.Dispersion, 12);

        // RFC 5905 §10: ε = Σ ε_i / 2^(i+1) in delay order; six dummies at MAXDISP follow.
        double expected = (0.001 + 1.5e-3) / 2 + 0.001 / 4;
        for (int i = 2; i < ClockFilter.Stages; i++)
        {
            expected += ClockFilter.MaxDispersion / Math.Pow(2, i + 1);
        }

        Assert.Equal(expected, r.Dispersion, 12);
    }

    [Fact]
    public void JitterIsTheRmsOffsetDifferenceFromTheChosenSample()
    {
        var filter = new ClockFilter(Precision);
        filter.Add(Sample(0, 0.000, 0.010), Poll);
        filter.Add(Sample(1, 0.003, 0.020), Poll);
        ClockFilterResult r = filter.Add(Sample(2, -0.004, 0.030), Poll);

        // sqrt((0.003² + 0.004²) / 2)
        Assert.Equal(Math.Sqrt((9e-6 + 16e-6) / 2), r.Jitter, 12);
    }

    [Fact]
    public void JitterIsFlooredAtThePrecision()
    {
        var filter = new ClockFilter(Precision);
        filter.Add(Sample(0, 0.001, 0.010), Poll);
        ClockFilterResult r = filter.Add(Sample(1, 0.001, 0.020), Poll);

        Assert.Equal(Precision, r.Jitter);
    }

    [Fact]
    public void PopcornSpikeWithinTwoPollIntervalsIsDropped()
    {
        var filter = new ClockFilter(Precision);
        for (int i = 0; i < 4; i++)
        {
            filter.Add(Sample(i * 16, 0.001 + 0.0001 * (i % 2), 0.010 - 0.001 * i), Poll);
        }

        ClockFilterResult spike = filter.Add(Sample(64, 0.5, 0.001), Poll);

        Assert.Equal(ClockFilterOutcome.Spike, spike.Outcome);

        // The same step, seen again after two system poll intervals, is real and used.
        ClockFilterResult step = filter.Add(Sample(64 + 2 * 64, 0.5, 0.0005), Poll);
        Assert.Equal(ClockFilterOutcome.Used, step.Outcome);
        Assert.Equal(0.5, step.Sample.Offset);
    }

    [Fact]
    public void EachSampleFallsOutAfterEightStages()
    {
        var filter = new ClockFilter(Precision);
        filter.Add(Sample(0, 0.0, 0.001), Poll);
        ClockFilterResult r = default;
        for (int i = 1; i <= ClockFilter.Stages; i++)
        {
            r = filter.Add(Sample(i, 0.002, 0.010), Poll);
        }

        Assert.Equal(0.010, r.Sample.Delay);
        Assert.Equal(ClockFilter.Stages, filter.ValidCount);
    }

    [Fact]
    public void AddIsAllocationFree()
    {
        var filter = new ClockFilter(Precision);
        for (int i = 0; i < 16; i++)
        {
            filter.Add(Sample(i, 0.001, 0.01 + 0.001 * (i % 3)), Poll);
        }

        int n = 16;
        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int end = n + 1000; n < end; n++)
                {
                    filter.Add(Sample(n, 0.001, 0.01 + 0.001 * (n % 3)), Poll);
                }
            },
            "1000 ClockFilter.Add calls");
    }

    [Fact]
    public void AStepCorrectionMovesTheKeptSamplesSoTheNextIsNotASpike()
    {
        var filter = new ClockFilter(Precision);
        for (int i = 1; i <= 4; i++)
        {
            filter.Add(Sample(i, 0.5, 0.010), Poll);
        }

        // The clock is stepped forward by the 0.5 s it was behind: kept samples move onto the new timescale.
        filter.ApplyCorrection(4_000_000_000, 0, 0.5);

        Assert.Equal(0, filter.Last.Sample.Offset, 12);
        Assert.Equal(4_500_000_000, filter.Last.Sample.LocalTimeNs);
        ClockFilterResult r = filter.Add(Sample(5, 0.0, 0.008), Poll);
        Assert.Equal(ClockFilterOutcome.Used, r.Outcome);
    }

    [Fact]
    public void WithoutTheCorrectionTheSameSampleIsASpike()
    {
        var filter = new ClockFilter(Precision);
        for (int i = 1; i <= 4; i++)
        {
            filter.Add(Sample(i, 0.5, 0.010), Poll);
        }

        Assert.Equal(ClockFilterOutcome.Spike, filter.Add(Sample(5, 0.0, 0.008), Poll).Outcome);
    }

    [Fact]
    public void AFrequencyCorrectionShiftsOlderSamplesMore()
    {
        var filter = new ClockFilter(Precision);
        filter.Add(Sample(100, 0.001, 0.010), Poll);

        // 10 ppm faster from t = 200 s: the sample 100 s earlier would have read 1 ms less, so its offset is 1 ms more.
        filter.ApplyCorrection(200_000_000_000, 10, 0);

        Assert.Equal(0.002, filter.Last.Sample.Offset, 12);
        Assert.Equal(100_000_000_000 - 1_000_000, filter.Last.Sample.LocalTimeNs);
    }

    private static NtpSample Sample(double seconds, double offset, double delay, double dispersion = 1e-5) =>
        new((long)(seconds * 1e9), offset, delay, dispersion, 0.001, 0.001, 2, LeapIndicator.NoWarning);
}
