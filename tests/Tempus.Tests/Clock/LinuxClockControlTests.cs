using Tempus.Clock;

namespace Tempus.Tests.Clock;

/// <summary>
/// The real clock control, read path only. HARD RULE: nothing here calls a mutating method of LinuxClockControl or
/// clock_adjtime with non-zero modes; the machine's clock must never move because of a test.
/// </summary>
public sealed class LinuxClockControlTests
{
    [Fact]
    public void KernelClockStateIsReadAndDecoded()
    {
        KernelClockState state = LinuxClockControl.ReadKernelState();

        Assert.True(Enum.IsDefined(state.State));
        Assert.InRange(state.FrequencyPpm, -500.0, 500.0);
        Assert.Equal(state.ScaledFrequency / 65536.0, state.FrequencyPpm);
        Assert.InRange(state.TickMicroseconds, 9_000, 11_000);
        Assert.InRange(state.MaxErrorMicroseconds, 0, 16_000_000);
        Assert.InRange(state.EstErrorMicroseconds, 0, 16_000_000);
        Assert.True(state.TaiOffsetSeconds >= 0);
        Assert.Equal((state.Status & KernelClockStatus.Unsynchronized) == 0, state.IsSynchronized);
        Assert.InRange(state.TotalFrequencyPpm, -100_500.0, 100_500.0);
    }

    [Fact]
    public void ConstructionChangesNothingAndReportsTheKernelFrequency()
    {
        KernelClockState before = LinuxClockControl.ReadKernelState();
        using (var control = new LinuxClockControl())
        {
            Assert.Equal(before.TotalFrequencyPpm, control.FrequencyPpm, 3);
            Assert.Equal(0, control.RemainingSlewSeconds);
            Assert.Null(control.LastTimerError);
            Assert.Contains("Linux system clock", control.Description);
        }

        KernelClockState after = LinuxClockControl.ReadKernelState();
        Assert.Equal(before.TickMicroseconds, after.TickMicroseconds);
        Assert.Equal(before.ScaledFrequency, after.ScaledFrequency);
        Assert.Equal(before.Status & ~KernelClockStatus.ClockError, after.Status & ~KernelClockStatus.ClockError);
    }

    [Fact]
    public void CanAdjustFollowsCapSysTimeOfThisProcess()
    {
        using var control = new LinuxClockControl();
        bool expected = LinuxClockControl.HasCapSysTime(File.ReadAllText("/proc/self/status"));
        Assert.Equal(expected, control.CanAdjust);
        Assert.Equal(expected, !control.Description.Contains("no CAP_SYS_TIME", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Name:\ttempusd\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n", true)]
    [InlineData("CapEff:\t0000000002000000\n", true)]
    [InlineData("CapPrm:\t0000000002000000\nCapEff:\t0000000000000000\n", false)]
    [InlineData("Name:\tnothing here\n", false)]
    public void CapSysTimeIsBit25OfTheEffectiveSet(string procStatus, bool expected)
    {
        Assert.Equal(expected, LinuxClockControl.HasCapSysTime(procStatus));
    }

    [Fact]
    public void MissingCapabilityIsNamedWithTheWayOut()
    {
        Assert.Equal(
            "cannot adjust the system clock: Operation not permitted (needs CAP_SYS_TIME; run with -x to never touch the clock)",
            LinuxClockControl.DescribeAdjustError(1, "set frequency"));
        Assert.StartsWith("cannot adjust the system clock (step): ", LinuxClockControl.DescribeAdjustError(22, "step"));
        var e = new ClockControlException(1, LinuxClockControl.DescribeAdjustError(1, "step"));
        Assert.Equal(1, e.Errno);
    }

    [Theory]
    [InlineData(0.0, 10_000, 0L)]
    [InlineData(-10.0, 10_000, -655_360L)]
    [InlineData(83_333.333, 10_833, 2_184_511L)]
    [InlineData(-260.0, 9_997, 2_621_440L)]
    [InlineData(200_000.0, 11_000, 32_768_000L)]
    public void RateCorrectionIsSplitBetweenTickAndFrequency(double ppm, long tick, long scaledFrequency)
    {
        (long actualTick, long actualFrequency) = LinuxClockControl.SplitFrequency(ppm);
        Assert.Equal(tick, actualTick);
        Assert.Equal(scaledFrequency, actualFrequency);
    }
}
