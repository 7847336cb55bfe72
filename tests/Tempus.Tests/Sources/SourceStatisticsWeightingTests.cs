using Tempus.Protocol;
using Tempus.Sources;

namespace Tempus.Tests.Sources;

public sealed class SourceStatisticsWeightingTests
{
    private const long Epoch = 1_795_000_000L * 1_000_000_000L;
    private const long Second = 1_000_000_000L;

    [Fact]
    public void SamplesThatWaitedInAQueueCountLittleAgainstTheQuickOnes()
    {
        // True offset 0. Every fourth sample, the first and the last among them, crossed an idle path (10 ms round trip,
        // measured offset 0); the others queued 2 ms on the way out, which shows as 2 ms more delay and +1 ms of offset
        // (RFC 5905 §8).
        var stats = new SourceStatistics();
        for (int i = 0; i <= 32; i++)
        {
            bool quick = i % 4 == 0;
            stats.AddSample(new NtpSample(Epoch + i * 4 * Second, quick ? 0 : 0.001, quick ? 0.010 : 0.012, 1e-6, 0, 0, 1, LeapIndicator.NoWarning));
        }

        // Equal weights would say +0.73 ms. The queued samples' distance lies 1 ms above the quick ones' (the median
        // excess): with the spread taken as a quarter of that, each counts (1 + 4)⁻² = 1/25 of a quick one, and the
        // estimate is 24/25 ms / (9 + 24/25) = 0.096 ms.
        double estimate = stats.EstimatedOffsetAt(stats.LastSampleTimeNs);
        Assert.Equal(33, stats.SampleCount);
        Assert.InRange(estimate, 0.000090, 0.000100);
        Assert.InRange(stats.FrequencyPpm, -0.5, 0.5);
    }

    [Fact]
    public void EqualDistancesGiveEqualWeights()
    {
        var stats = new SourceStatistics();
        for (int i = 0; i < 16; i++)
        {
            stats.AddSample(new NtpSample(Epoch + i * 16 * Second, i % 2 == 0 ? 0.001 : -0.001, 0.010, 1e-6, 0, 0, 1, LeapIndicator.NoWarning));
        }

        Assert.InRange(stats.EstimatedOffsetAt(stats.LastSampleTimeNs), -0.0003, 0.0003);
        Assert.InRange(stats.StandardDeviationSeconds, 0.00095, 0.0011);
    }

    [Fact]
    public void TheRootEstimatesComeFromTheSampleThatBoundsTheOffsetBestNow()
    {
        var stats = new SourceStatistics();
        Assert.False(stats.TryGetRootEstimates(Epoch, 15e-6, out _, out _));

        // A sample with a short round trip, then two 4 ms slower, 100 s apart; the server's root delay 1 ms, dispersion 2 ms.
        stats.AddSample(new NtpSample(Epoch, 0, 0.010, 0.0001, 0.001, 0.002, 2, LeapIndicator.NoWarning));
        stats.AddSample(new NtpSample(Epoch + 100 * Second, 0, 0.014, 0.0001, 0.001, 0.002, 2, LeapIndicator.NoWarning));

        // At the second one the first has aged 1.5 ms at PHI, less than the 2 ms its shorter round trip saves: it wins.
        Assert.True(stats.TryGetRootEstimates(Epoch + 100 * Second, 15e-6, out double delay, out double dispersion));
        Assert.Equal(0.011, delay, 9);
        Assert.Equal(0.0021 + 0.0015, dispersion, 9);

        // At the third it has aged 3 ms: the fresh sample bounds the offset better.
        stats.AddSample(new NtpSample(Epoch + 200 * Second, 0, 0.014, 0.0001, 0.001, 0.002, 2, LeapIndicator.NoWarning));
        Assert.True(stats.TryGetRootEstimates(Epoch + 200 * Second, 15e-6, out delay, out dispersion));
        Assert.Equal(0.015, delay, 9);
        Assert.Equal(0.0021, dispersion, 9);
    }
}
