using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Tests.Clock;

/// <summary>The simulated clock the discipline tests run on: deterministic, fast, corrected like the kernel clock.</summary>
public sealed class SimulatedClockTests
{
    private static readonly DateTime s_start = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);
    private static readonly long s_startNanoseconds = (s_start - DateTime.UnixEpoch).Ticks * 100;

    [Fact]
    public void TimeMovesOnlyWhenAdvanced()
    {
        var clock = new SimulatedClock(s_start, initialOffsetSeconds: 0.5);
        Assert.Equal(s_startNanoseconds, clock.TrueUnixNanoseconds);
        Assert.Equal(s_startNanoseconds + 500_000_000, clock.UnixNanoseconds);
        Assert.Equal(clock.UnixNanoseconds, clock.UnixNanoseconds);
        Assert.Equal(NtpTimestamp.FromUnixTimeNanoseconds(clock.UnixNanoseconds), clock.NtpNow);

        clock.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(s_startNanoseconds + 1_500_000_000, clock.TrueUnixNanoseconds);
    }

    [Fact]
    public void FrequencyErrorAccumulatesOffsetLinearly()
    {
        var clock = new SimulatedClock(s_start, initialOffsetSeconds: 1, frequencyErrorPpm: 100);
        clock.Advance(TimeSpan.FromSeconds(1000));
        Assert.Equal(1.1, clock.LocalOffsetSeconds, 9);
        clock.Advance(TimeSpan.FromSeconds(1000));
        Assert.Equal(1.2, clock.LocalOffsetSeconds, 9);
        Assert.Equal(clock.TrueUnixNanoseconds + 1_200_000_000, clock.UnixNanoseconds);
    }

    [Fact]
    public void FrequencyCorrectionCancelsTheError()
    {
        var clock = new SimulatedClock(s_start, frequencyErrorPpm: 100);
        var control = new SimulatedClockControl(clock);
        control.SetFrequency(-100);
        Assert.Equal(-100, control.FrequencyPpm);
        Assert.Equal(0, clock.ResidualFrequencyPpm);
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, clock.LocalOffsetSeconds, 12);
    }

    [Fact]
    public void SlewIsBoundedByTheMaximumRate()
    {
        // offset = reference − local: the local clock is 1 s ahead, so the discipline slews −1 s.
        var clock = new SimulatedClock(s_start, initialOffsetSeconds: 1);
        var control = new SimulatedClockControl(clock, maxSlewRatePpm: 1e6 / 12);
        control.SlewOffset(-1);
        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(0.5, clock.LocalOffsetSeconds, 9);
        Assert.Equal(-0.5, control.RemainingSlewSeconds, 9);
        clock.Advance(TimeSpan.FromSeconds(5.5));
        Assert.Equal(1.0 / 24, clock.LocalOffsetSeconds, 9);
        clock.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(0, clock.LocalOffsetSeconds, 9);
        Assert.Equal(0, control.RemainingSlewSeconds, 12);
    }

    [Fact]
    public void StepAppliesAtOnce()
    {
        var clock = new SimulatedClock(s_start, initialOffsetSeconds: -3);
        var control = new SimulatedClockControl(clock);
        control.StepOffset(3);
        Assert.Equal(0, clock.LocalOffsetSeconds);
        Assert.Equal(clock.TrueUnixNanoseconds, clock.UnixNanoseconds);
    }

    [Fact]
    public void SameSeedGivesTheSameReadings()
    {
        long[] first = Run(seed: 42, chunk: TimeSpan.FromSeconds(16));
        long[] second = Run(seed: 42, chunk: TimeSpan.FromSeconds(16));
        long[] otherSeed = Run(seed: 43, chunk: TimeSpan.FromSeconds(16));
        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void HowAdvanceIsSplitDoesNotChangeTheResult()
    {
        var whole = new SimulatedClock(s_start, 0.1, 20, wanderPpmPerSqrtSecond: 0.01, seed: 7);
        var pieces = new SimulatedClock(s_start, 0.1, 20, wanderPpmPerSqrtSecond: 0.01, seed: 7);
        whole.Advance(TimeSpan.FromSeconds(600));
        for (int i = 0; i < 2400; i++)
        {
            pieces.Advance(TimeSpan.FromMilliseconds(250));
        }

        Assert.Equal(whole.FrequencyErrorPpm, pieces.FrequencyErrorPpm, 12);
        Assert.Equal(whole.LocalOffsetSeconds, pieces.LocalOffsetSeconds, 9);
    }

    [Fact]
    public void WanderMovesTheFrequencyAsARandomWalk()
    {
        var clock = new SimulatedClock(s_start, frequencyErrorPpm: 10, wanderPpmPerSqrtSecond: 0.001, seed: 3);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.NotEqual(10, clock.FrequencyErrorPpm);

        // σ after 3600 s is 0.06 ppm: ten σ is a bound no seed should cross.
        Assert.InRange(clock.FrequencyErrorPpm, 9.4, 10.6);
    }

    [Fact]
    public void OneSimulatedDayTakesOneStepPerSecond()
    {
        var clock = new SimulatedClock(s_start, initialOffsetSeconds: 1, frequencyErrorPpm: 100, wanderPpmPerSqrtSecond: 0.001);
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(86_400, clock.StepsTaken);
        Assert.Equal(s_startNanoseconds + 86_400_000_000_000, clock.TrueUnixNanoseconds);
    }

    [Fact]
    public void ArmedLeapSecondIsInsertedAtMidnightOnce()
    {
        var clock = new SimulatedClock(new DateTime(2026, 12, 31, 23, 59, 0, DateTimeKind.Utc));
        var control = new SimulatedClockControl(clock);
        control.SetLeap(LeapIndicator.InsertSecond);
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, clock.LocalOffsetSeconds);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(-1, clock.LocalOffsetSeconds);
        Assert.Equal(LeapIndicator.NoWarning, control.Leap);
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(-1, clock.LocalOffsetSeconds);
    }

    [Fact]
    public void SynchronizationStatusIsRecorded()
    {
        var control = new SimulatedClockControl(new SimulatedClock(s_start));
        control.SetSynchronized(true, 0.5, 0.01);
        Assert.True(control.IsSynchronized);
        Assert.Equal(0.5, control.MaxErrorSeconds);
        Assert.Equal(0.01, control.EstErrorSeconds);
        Assert.True(control.CanAdjust);
    }

    [Fact]
    public void InvalidArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedClock(s_start, wanderPpmPerSqrtSecond: -1));
        var clock = new SimulatedClock(s_start);
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Advance(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedClockControl(clock, -5));
    }

    private static long[] Run(int seed, TimeSpan chunk)
    {
        var clock = new SimulatedClock(s_start, initialOffsetSeconds: 1, frequencyErrorPpm: 100, wanderPpmPerSqrtSecond: 0.005, seed: seed);
        var control = new SimulatedClockControl(clock);
        var readings = new long[200];
        for (int i = 0; i < readings.Length; i++)
        {
            clock.Advance(chunk);
            readings[i] = clock.UnixNanoseconds;
            if (i == 50)
            {
                control.SlewOffset(-0.5);
                control.SetFrequency(-90);
            }
        }

        return readings;
    }
}
