using Tempus.Clock;
using Tempus.Protocol;
using Tempus.Tests.Server;

namespace Tempus.Tests.Clock;

/// <summary>tempusd -x: corrections are tracked virtually over a fake underlying clock; the system clock is never touched.</summary>
public sealed class FreeRunningClockControlTests
{
    private static readonly DateTime s_start = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);

    private static (FakeClock Clock, FreeRunningClockControl Control) Create(double maxSlewRatePpm = 83333.333)
    {
        var clock = new FakeClock(s_start) { Step = 0 };
        return (clock, new FreeRunningClockControl(clock, maxSlewRatePpm));
    }

    [Fact]
    public void NewControlCorrectsNothing()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create();
        Assert.Equal(0, control.VirtualOffsetSeconds);
        Assert.Equal(0, control.FrequencyPpm);
        Assert.Equal(clock.UnixNanoseconds, control.CorrectedClock.UnixNanoseconds);
        Assert.True(control.CanAdjust);
        Assert.Contains("-x", control.Description);
        Assert.Equal(clock.Precision, control.CorrectedClock.Precision);
    }

    [Fact]
    public void SlewAccumulatesAtTheBoundedRateAndStops()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create(maxSlewRatePpm: 1e6 / 12);
        control.SlewOffset(1.0);
        Assert.Equal(0, control.VirtualOffsetSeconds);

        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(0.5, control.VirtualOffsetSeconds, 9);
        Assert.Equal(0.5, control.RemainingSlewSeconds, 9);

        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1.0, control.VirtualOffsetSeconds, 9);

        clock.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(1.0, control.VirtualOffsetSeconds, 9);
        Assert.Equal(0, control.RemainingSlewSeconds, 12);
        Assert.Equal(clock.UnixNanoseconds + 1_000_000_000, control.CorrectedClock.UnixNanoseconds);
    }

    [Fact]
    public void SlewRateIsAConstructorParameter()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create(maxSlewRatePpm: 500);
        control.SlewOffset(-0.01);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(-0.005, control.VirtualOffsetSeconds, 9);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(-0.01, control.VirtualOffsetSeconds, 9);
    }

    [Fact]
    public void SlewsAddToWhatIsOutstanding()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create(maxSlewRatePpm: 1000);
        control.SlewOffset(0.01);
        clock.Advance(TimeSpan.FromSeconds(4));
        control.SlewOffset(-0.002);
        Assert.Equal(0.004, control.VirtualOffsetSeconds, 9);
        Assert.Equal(0.004, control.RemainingSlewSeconds, 9);
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(0.008, control.VirtualOffsetSeconds, 9);
    }

    [Fact]
    public void StepAppliesAtOnce()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create();
        control.StepOffset(-0.25);
        Assert.Equal(-0.25, control.VirtualOffsetSeconds);
        Assert.Equal(clock.UnixNanoseconds - 250_000_000, control.CorrectedClock.UnixNanoseconds);
        Assert.Equal(NtpTimestamp.FromUnixTimeNanoseconds(clock.UnixNanoseconds - 250_000_000), control.CorrectedClock.NtpNow);
    }

    [Fact]
    public void FrequencyCorrectionAccumulatesOffsetOverTime()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create();
        control.SetFrequency(100);
        Assert.Equal(100, control.FrequencyPpm);
        clock.Advance(TimeSpan.FromSeconds(1000));
        Assert.Equal(0.1, control.VirtualOffsetSeconds, 9);

        // A new frequency applies from now on; what the old one accumulated stays.
        control.SetFrequency(-50);
        clock.Advance(TimeSpan.FromSeconds(1000));
        Assert.Equal(0.05, control.VirtualOffsetSeconds, 9);
        control.SetFrequency(0);
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0.05, control.VirtualOffsetSeconds, 9);
    }

    [Fact]
    public void SlewStepAndFrequencyCombine()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create(maxSlewRatePpm: 1000);
        control.SetFrequency(10);
        control.SlewOffset(0.001);
        control.StepOffset(2);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2 + 0.0001 + 0.001, control.VirtualOffsetSeconds, 9);
    }

    [Fact]
    public void LeapAndSynchronizationAreRememberedOnly()
    {
        (_, FreeRunningClockControl control) = Create();
        Assert.Equal(LeapIndicator.Unsynchronized, control.Leap);
        control.SetLeap(LeapIndicator.InsertSecond);
        control.SetSynchronized(true, 0.1, 0.001);
        Assert.Equal(LeapIndicator.InsertSecond, control.Leap);
        Assert.True(control.IsSynchronized);
        Assert.Equal(0.1, control.MaxErrorSeconds);
        Assert.Equal(0.001, control.EstErrorSeconds);
    }

    [Fact]
    public void UnderlyingClockGoingBackDoesNotUndoCorrections()
    {
        (FakeClock clock, FreeRunningClockControl control) = Create();
        control.SetFrequency(100);
        clock.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(0.01, control.VirtualOffsetSeconds, 9);
        clock.Advance(TimeSpan.FromSeconds(-50));
        Assert.Equal(0.01, control.VirtualOffsetSeconds, 9);
        clock.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(0.02, control.VirtualOffsetSeconds, 9);
    }

    [Fact]
    public void InvalidArgumentsAreRefused()
    {
        var clock = new FakeClock(s_start);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FreeRunningClockControl(clock, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FreeRunningClockControl(clock, double.NaN));
        var control = new FreeRunningClockControl(clock);
        Assert.Throws<ArgumentOutOfRangeException>(() => control.SlewOffset(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => control.SetFrequency(double.PositiveInfinity));
    }
}
