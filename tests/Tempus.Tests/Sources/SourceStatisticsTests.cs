using Tempus.Protocol;
using Tempus.Sources;
using Tempus.Testing;

namespace Tempus.Tests.Sources;

public sealed class SourceStatisticsTests
{
    // A Unix-epoch-sized timescale: the regression must not lose precision to it.
    private const long Epoch = 1_795_000_000L * 1_000_000_000L;

    [Fact]
    public void ExactLinearDataGivesItsSlopeAndOffsetWithNoSpread()
    {
        const double a = 0.012;
        const double b = 25e-6;
        var stats = new SourceStatistics();
        for (int i = 0; i < 20; i++)
        {
            stats.AddSample(Sample(i * 16.0, a + b * (i * 16.0)));
        }

        Assert.Equal(20, stats.SampleCount);
        Assert.Equal(25.0, stats.FrequencyPpm, 6);
        Assert.Equal(a + b * 19 * 16, stats.OffsetSeconds, 12);
        Assert.Equal(0, stats.StandardDeviationSeconds, 12);
        Assert.Equal(0, stats.SkewPpm, 6);
        Assert.Equal(19 * 16.0, stats.SpanSeconds, 9);
        Assert.Equal(a + b * 1000, stats.EstimatedOffsetAt(Epoch + 1000L * 1_000_000_000L), 12);
    }

    [Fact]
    public void NoisyLinearDataIsEstimatedWithinItsStatisticalBounds()
    {
        const double a = -0.003;
        const double b = -12e-6;
        const double sigma = 1e-3;
        var random = new Random(4242);
        var stats = new SourceStatistics();
        for (int i = 0; i < 64; i++)
        {
            double t = i * 16.0;
            stats.AddSample(Sample(t, a + b * t + sigma * Gaussian(random)));
        }

        const double tLast = 63 * 16.0;
        Assert.True(stats.SampleCount >= 32, $"NP {stats.SampleCount}");

        // With NP points over the span, the slope's standard error is σ / sqrt(Σ(x − x̄)²); allow four of them.
        double n = stats.SampleCount;
        double span = stats.SpanSeconds;
        double slopeError = sigma / Math.Sqrt(n * (n + 1) / (n - 1) * span * span / 12);
        Assert.InRange(stats.FrequencyPpm, (b - 4 * slopeError) * 1e6, (b + 4 * slopeError) * 1e6);
        Assert.InRange(stats.OffsetSeconds, a + b * tLast - 4 * sigma / Math.Sqrt(n) * 2, a + b * tLast + 4 * sigma / Math.Sqrt(n) * 2);
        Assert.InRange(stats.StandardDeviationSeconds, 0.7 * sigma, 1.3 * sigma);

        // The reported skew is a 95 % bound on the same error: about two standard errors.
        Assert.InRange(stats.SkewPpm, 1.5 * slopeError * 1e6, 2.5 * slopeError * 1e6);
        Assert.True(stats.Runs > SourceStatistics.CriticalRuns(stats.SampleCount));
    }

    [Fact]
    public void StepInTheMiddleMakesTheRunsTestDiscardTheOldRegime()
    {
        var random = new Random(7);
        var stats = new SourceStatistics();
        for (int i = 0; i < 32; i++)
        {
            stats.AddSample(Sample(i * 16.0, 1e-4 * Gaussian(random)));
        }

        Assert.Equal(32, stats.SampleCount);

        for (int i = 32; i < 64; i++)
        {
            stats.AddSample(Sample(i * 16.0, 0.010 + 1e-4 * Gaussian(random)));
        }

        Assert.InRange(stats.SampleCount, SourceStatistics.MinSamplesForRegression, 36);
        Assert.Equal(0.010, stats.OffsetSeconds, 3);
        Assert.InRange(stats.StandardDeviationSeconds, 0, 5e-4);
    }

    [Fact]
    public void MemoryIsBoundedByTheCapacity()
    {
        var stats = new SourceStatistics(capacity: 16);
        for (int i = 0; i < 1000; i++)
        {
            stats.AddSample(Sample(i, 0.001 + 1e-6 * i));
        }

        Assert.Equal(16, stats.SampleCount);
        Assert.Equal(15.0, stats.SpanSeconds, 9);
        Assert.Equal(1.0, stats.FrequencyPpm, 6);
    }

    [Fact]
    public void AddSampleIsAllocationFreeAfterWarmUp()
    {
        var random = new Random(1);
        var stats = new SourceStatistics();
        int i = 0;
        for (; i < 100; i++)
        {
            stats.AddSample(Sample(i * 8.0, 1e-4 * Gaussian(random), delay: 0.01 + 0.001 * random.NextDouble()));
        }

        double[] noise = new double[1000];
        double[] delays = new double[1000];
        for (int k = 0; k < noise.Length; k++)
        {
            noise[k] = 1e-4 * Gaussian(random);
            delays[k] = 0.01 + 0.001 * random.NextDouble();
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int k = 0; k < noise.Length; k++, i++)
                {
                    stats.AddSample(Sample(i * 8.0, noise[k], delays[k]));
                }
            },
            "a round of 1000 samples");
    }

    [Fact]
    public void FewerThanThreeSamplesGiveTheLatestOffsetAndWorstCaseSkew()
    {
        var stats = new SourceStatistics();
        stats.AddSample(Sample(0, 0.002));
        stats.AddSample(Sample(16, 0.003));

        Assert.False(stats.HasRegression);
        Assert.Equal(0.003, stats.OffsetSeconds);
        Assert.Equal(0, stats.FrequencyPpm);
        Assert.Equal(SourceStatistics.WorstCaseSkewPpm, stats.SkewPpm);
        Assert.Equal(double.PositiveInfinity, stats.OffsetErrorBoundAt(Epoch));
    }

    [Fact]
    public void ErrorBoundGrowsAwayFromTheData()
    {
        var random = new Random(3);
        var stats = new SourceStatistics();
        for (int i = 0; i < 32; i++)
        {
            stats.AddSample(Sample(i * 16.0, 1e-4 * Gaussian(random)));
        }

        double atLast = stats.OffsetErrorBoundAt(stats.LastSampleTimeNs);
        double later = stats.OffsetErrorBoundAt(stats.LastSampleTimeNs + 3600L * 1_000_000_000L);

        Assert.True(atLast > 0);
        Assert.True(later > atLast);
    }

    [Fact]
    public void SamplesOutOfOrderAreRejected()
    {
        var stats = new SourceStatistics();
        stats.AddSample(Sample(10, 0));

        Assert.Throws<ArgumentException>(() => stats.AddSample(Sample(10, 0)));
    }

    // The 5 % critical values chrony tabulates for its runs test, at a few sizes.
    [Theory]
    [InlineData(7, 0)]
    [InlineData(8, 2)]
    [InlineData(9, 3)]
    [InlineData(12, 4)]
    [InlineData(20, 7)]
    [InlineData(63, 26)]
    public void CriticalRunsMatchTheFivePercentTable(int n, int expected)
    {
        Assert.Equal(expected, SourceStatistics.CriticalRuns(n));
    }

    private static NtpSample Sample(double seconds, double offset, double delay = 0.01) =>
        new(Epoch + (long)Math.Round(seconds * 1e9), offset, delay, 1e-5, 0.001, 0.001, 2, LeapIndicator.NoWarning);

    private static double Gaussian(Random random)
    {
        // Box–Muller with a seeded generator: deterministic noise.
        double u1 = 1 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
