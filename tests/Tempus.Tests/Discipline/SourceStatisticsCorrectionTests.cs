using Tempus.Protocol;
using Tempus.Sources;

namespace Tempus.Tests.Discipline;

public sealed class SourceStatisticsCorrectionTests
{
    private const long Epoch = 1_795_000_000L * 1_000_000_000L;
    private const long Second = 1_000_000_000L;

    [Fact]
    public void CorrectingExactlyTheMeasuredOffsetAndFrequencyLeavesSamplesOnZero()
    {
        const double o0 = 0.25;
        const double f = 40e-6;
        var stats = new SourceStatistics();
        for (int i = 0; i < 16; i++)
        {
            stats.AddSample(Sample(Epoch + i * 64 * Second, o0 + f * i * 64));
        }

        long now = Epoch + 16 * 64 * Second;
        double offsetNow = o0 + f * 16 * 64;
        stats.ApplyCorrection(now, f * 1e6, offsetNow);

        Assert.Equal(16, stats.SampleCount);
        Assert.Equal(0, stats.FrequencyPpm, 6);
        Assert.Equal(0, stats.EstimatedOffsetAt(now + (long)(offsetNow * 1e9)), 9);
    }

    [Fact]
    public void AStepMovesSampleTimesAndOffsetsButNotTheFrequency()
    {
        var stats = new SourceStatistics();
        for (int i = 0; i < 8; i++)
        {
            stats.AddSample(Sample(Epoch + i * 16 * Second, 1.5 - 10e-6 * i * 16));
        }

        long lastBefore = stats.LastSampleTimeNs;
        stats.ApplyCorrection(Epoch + 8 * 16 * Second, 0, 1.5);

        Assert.Equal(lastBefore + (long)(1.5 * 1e9), stats.LastSampleTimeNs);
        Assert.Equal(-10, stats.FrequencyPpm, 6);
        Assert.Equal(-10e-6 * 7 * 16, stats.OffsetSeconds, 9);
    }

    [Fact]
    public void AFrequencyChangeTransformsTheSlopeAsChronyDoes()
    {
        const double f = 25e-6;
        const double df = 10e-6;
        var stats = new SourceStatistics();
        for (int i = 0; i < 10; i++)
        {
            stats.AddSample(Sample(Epoch + i * 32 * Second, f * i * 32));
        }

        stats.ApplyCorrection(Epoch + 10 * 32 * Second, df * 1e6, 0);

        Assert.Equal((f - df) / (1 + df) * 1e6, stats.FrequencyPpm, 4);
    }

    [Fact]
    public void ANonFiniteCorrectionIsRejected()
    {
        var stats = new SourceStatistics();
        Assert.Throws<ArgumentOutOfRangeException>(() => stats.ApplyCorrection(Epoch, double.NaN, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => stats.ApplyCorrection(Epoch, 0, double.PositiveInfinity));
    }

    private static NtpSample Sample(long t, double offset) =>
        new(t, offset, 0.001, 1e-5, 0.01, 0.01, 2, LeapIndicator.NoWarning);
}
