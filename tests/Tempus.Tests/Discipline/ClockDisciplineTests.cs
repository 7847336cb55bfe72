using Tempus.Clock;
using Tempus.Discipline;
using Tempus.Protocol;

namespace Tempus.Tests.Discipline;

public sealed class ClockDisciplineTests
{
    private static readonly DateTime Start = new(2026, 3, 10, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void AnOffsetIsSlewedOutAtTheControlsRateWithoutMakestep()
    {
        var (clock, control) = Simulated(initialOffset: -0.5);
        var corrections = new List<ClockCorrection>();
        var discipline = new ClockDiscipline(control, DisciplineOptions.Default, corrections.Add);

        DisciplineAction action = discipline.Update(Input(offset: 0.5), clock.UnixNanoseconds);

        Assert.Equal(DisciplineAction.Slewed, action);
        Assert.Equal(0.5, control.RemainingSlewSeconds, 12);
        Assert.Equal(-0.5, clock.LocalOffsetSeconds, 9);

        // 83333 ppm of slew: 0.5 s takes 6 s.
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(-0.25, clock.LocalOffsetSeconds, 6);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, clock.LocalOffsetSeconds, 6);
        Assert.Single(corrections);
        Assert.Equal(0.5, corrections[0].OffsetCorrection, 12);
        Assert.Equal(1, discipline.Updates);
    }

    [Fact]
    public void MakestepStepsOnlyDuringItsFirstUpdatesAndAboveItsThreshold()
    {
        var (clock, control) = Simulated(initialOffset: 2);
        var options = new DisciplineOptions { MakeStepThreshold = 0.1, MakeStepLimit = 2 };
        var discipline = new ClockDiscipline(control, options);

        Assert.Equal(DisciplineAction.Slewed, discipline.Update(Input(offset: -0.05), clock.UnixNanoseconds));
        Assert.Equal(DisciplineAction.Stepped, discipline.Update(Input(offset: -2), clock.UnixNanoseconds));
        Assert.Equal(0, control.RemainingSlewSeconds, 12);

        // The first update's −50 ms slew was cancelled and folded into the step: 2 − 2.05.
        Assert.Equal(-0.05, clock.LocalOffsetSeconds, 9);

        // Third update: the limit is used up, so even a large offset is slewed.
        Assert.Equal(DisciplineAction.Slewed, discipline.Update(Input(offset: -1), clock.UnixNanoseconds));
        Assert.Equal(-1, control.RemainingSlewSeconds, 12);
    }

    [Fact]
    public void MakestepWithLimitMinusOneStepsAtAnyUpdate()
    {
        var (clock, control) = Simulated();
        var discipline = new ClockDiscipline(control, new DisciplineOptions { MakeStepThreshold = 1, MakeStepLimit = -1 });
        for (int i = 0; i < 5; i++)
        {
            discipline.Update(Input(offset: 0.01), clock.UnixNanoseconds);
        }

        Assert.Equal(DisciplineAction.Stepped, discipline.Update(Input(offset: 3), clock.UnixNanoseconds));
    }

    [Fact]
    public void TheFrequencyFollowsAWellKnownEstimateAndIgnoresOneWithTooMuchSkew()
    {
        var (clock, control) = Simulated(frequencyError: 100);
        var corrections = new List<ClockCorrection>();
        var discipline = new ClockDiscipline(control, DisciplineOptions.Default, corrections.Add);

        // Skew 2000 ppm > maxupdateskew 1000: no frequency change, only the offset.
        discipline.Update(Input(offset: 0.001, frequency: -100, skew: 2000), clock.UnixNanoseconds);
        Assert.Equal(0, control.FrequencyPpm);

        // A good estimate against our initial (bad) skew: gain ≈ 1.
        discipline.Update(Input(offset: 0.001, frequency: -100, skew: 0.5), clock.UnixNanoseconds);
        Assert.Equal(-100, control.FrequencyPpm, 3);
        Assert.Equal(0, clock.ResidualFrequencyPpm, 3);
        Assert.Equal(-100, corrections[1].FrequencyChangePpm, 3);
        Assert.InRange(discipline.SkewPpm, 0.5, 1.0);

        // Now our skew is small: an equally good estimate moves the frequency only part of the way.
        discipline.Update(Input(offset: 0, frequency: 2, skew: discipline.SkewPpm), clock.UnixNanoseconds);
        Assert.InRange(control.FrequencyPpm, -99.9, -98.1);
        Assert.InRange(discipline.ResidualFrequencyPpm, 0.1, 1.9);
    }

    [Fact]
    public void TheFrequencyIsClampedToMaxdrift()
    {
        var (clock, control) = Simulated();
        var discipline = new ClockDiscipline(control, new DisciplineOptions { MaxDriftPpm = 50 });
        discipline.Update(Input(offset: 0, frequency: 300, skew: 1), clock.UnixNanoseconds);
        Assert.Equal(50, control.FrequencyPpm, 9);
    }

    [Fact]
    public void MaxchangeIgnoresLargeOffsetsAfterStartThenGivesUp()
    {
        var (clock, control) = Simulated();
        var options = new DisciplineOptions { MaxChangeOffset = 1, MaxChangeStart = 1, MaxChangeIgnore = 2 };
        var discipline = new ClockDiscipline(control, options);

        // The first update is within START: accepted whatever its size.
        Assert.Equal(DisciplineAction.Slewed, discipline.Update(Input(offset: 5), clock.UnixNanoseconds));
        Assert.Equal(DisciplineAction.Slewed, discipline.Update(Input(offset: 0.5), clock.UnixNanoseconds));
        double slew = control.RemainingSlewSeconds;
        Assert.Equal(DisciplineAction.IgnoredByMaxChange, discipline.Update(Input(offset: -2), clock.UnixNanoseconds));
        Assert.Equal(DisciplineAction.IgnoredByMaxChange, discipline.Update(Input(offset: 3), clock.UnixNanoseconds));
        Assert.Equal(slew, control.RemainingSlewSeconds);
        Assert.Equal(2, discipline.Updates);
        Assert.False(discipline.MustExit);

        Assert.Equal(DisciplineAction.MaxChangeExceeded, discipline.Update(Input(offset: 1.5), clock.UnixNanoseconds));
        Assert.True(discipline.MustExit);
        Assert.Contains("maxchange", discipline.ExitReason, StringComparison.Ordinal);
        Assert.Equal(DisciplineAction.MaxChangeExceeded, discipline.Update(Input(offset: 0), clock.UnixNanoseconds));
        Assert.Equal(2, discipline.Updates);
    }

    [Fact]
    public void MaxchangeWithIgnoreMinusOneNeverGivesUp()
    {
        var (clock, control) = Simulated();
        var discipline = new ClockDiscipline(control, new DisciplineOptions { MaxChangeOffset = 0.1, MaxChangeStart = 0, MaxChangeIgnore = -1 });
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(DisciplineAction.IgnoredByMaxChange, discipline.Update(Input(offset: 1), clock.UnixNanoseconds));
        }

        Assert.False(discipline.MustExit);
    }

    [Fact]
    public void ALeapSecondIsArmedOnlyOnTheLastDayOfJuneAndAppliedAtMidnight()
    {
        var (clock, control) = Simulated(start: new DateTime(2027, 6, 29, 12, 0, 0, DateTimeKind.Utc));
        var discipline = new ClockDiscipline(control, DisciplineOptions.Default);

        discipline.Update(Input(offset: 0, leap: LeapIndicator.InsertSecond), clock.UnixNanoseconds);
        Assert.Equal(LeapIndicator.NoWarning, discipline.Leap);
        Assert.NotEqual(LeapIndicator.InsertSecond, control.Leap);

        clock.Advance(TimeSpan.FromDays(1));
        discipline.Update(Input(offset: 0, leap: LeapIndicator.InsertSecond), clock.UnixNanoseconds);
        Assert.Equal(LeapIndicator.InsertSecond, discipline.Leap);
        Assert.Equal(LeapIndicator.InsertSecond, control.Leap);

        Assert.False(discipline.IsLeapSecondClose(clock.UnixNanoseconds));
        clock.Advance(TimeSpan.FromHours(12) - TimeSpan.FromSeconds(3));
        Assert.True(discipline.IsLeapSecondClose(clock.UnixNanoseconds));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(-1, clock.LocalOffsetSeconds, 6);
        Assert.Equal(LeapIndicator.NoWarning, control.Leap);
    }

    [Fact]
    public void ALeapSecondIsDisarmedWhenSynchronizationIsLost()
    {
        var (clock, control) = Simulated(start: new DateTime(2027, 12, 31, 8, 0, 0, DateTimeKind.Utc));
        var discipline = new ClockDiscipline(control, DisciplineOptions.Default);
        discipline.Update(Input(offset: 0, leap: LeapIndicator.DeleteSecond), clock.UnixNanoseconds);
        Assert.Equal(LeapIndicator.DeleteSecond, control.Leap);

        discipline.SetUnsynchronized(clock.UnixNanoseconds);
        Assert.Equal(LeapIndicator.NoWarning, control.Leap);
        Assert.False(control.IsSynchronized);
        Assert.Equal(16, discipline.Report(clock.UnixNanoseconds).Stratum);
        Assert.Equal(LeapIndicator.Unsynchronized, discipline.Report(clock.UnixNanoseconds).Leap);
    }

    [Theory]
    [InlineData("2027-06-30T00:00:00Z", true)]
    [InlineData("2027-06-30T23:59:59Z", true)]
    [InlineData("2027-12-31T10:00:00Z", true)]
    [InlineData("2027-07-01T00:00:00Z", false)]
    [InlineData("2027-06-29T23:59:59Z", false)]
    [InlineData("2027-03-31T12:00:00Z", false)]
    public void LeapSecondsAreAllowedOnlyOnTheLastDayOfJuneAndDecember(string when, bool allowed)
    {
        DateTime t = DateTime.Parse(when, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.Equal(allowed, ClockDiscipline.IsLeapSecondDay((t - DateTime.UnixEpoch).Ticks * 100));
    }

    [Fact]
    public void TheSynchronizationStatusAndTrackingReportFollowUpdates()
    {
        var (clock, control) = Simulated();
        var discipline = new ClockDiscipline(control, new DisciplineOptions { RtcSync = true });
        discipline.Update(Input(offset: 0.002, rootDelay: 0.02, rootDispersion: 0.001), clock.UnixNanoseconds);
        clock.Advance(TimeSpan.FromSeconds(64));
        discipline.Update(Input(offset: -0.001, rootDelay: 0.02, rootDispersion: 0.001), clock.UnixNanoseconds);

        Assert.True(control.IsSynchronized);
        Assert.InRange(control.MaxErrorSeconds, 0.011, 0.0111);
        var report = discipline.Report(clock.UnixNanoseconds);
        Assert.Equal(2, report.Updates);
        Assert.Equal(3, report.Stratum);
        Assert.Equal(-0.001, report.LastOffset, 12);
        Assert.Equal(64.002, report.UpdateInterval, 6); // local time: 64 s plus the 2 ms slewed in meanwhile
        // chrony's avg2: squares replace each other while they grow... or shrink at start, until one is larger.
        Assert.Equal(0.001, report.RmsOffset, 9);
        Assert.Equal(LeapIndicator.NoWarning, report.Leap);
        Assert.True(report.IsSynchronized);

        // The root dispersion grows with time since the update.
        Assert.True(discipline.RootDispersionAt(clock.UnixNanoseconds + 1_000_000_000_000) > report.RootDispersion);
    }

    [Fact]
    public void WithoutRtcsyncTheKernelIsNeverToldTheClockIsSynchronized()
    {
        // chrony on Linux: STA_UNSYNC is cleared (and the kernel's 11-minute RTC writes start) only under rtcsync.
        var (clock, control) = Simulated();
        var discipline = new ClockDiscipline(control, DisciplineOptions.Default);
        discipline.Update(Input(offset: 0.001), clock.UnixNanoseconds);
        Assert.True(discipline.IsSynchronized);
        Assert.False(control.IsSynchronized);
        Assert.InRange(control.MaxErrorSeconds, 0.005, 0.007);
    }

    [Fact]
    public void MakeStepStepsWhatRemainsOfTheSlewAndLeavesCookedTimeAlone()
    {
        var (clock, control) = Simulated(initialOffset: -3);
        var discipline = new ClockDiscipline(control, DisciplineOptions.Default);
        discipline.Update(Input(offset: 3), clock.UnixNanoseconds);
        var cooked = new CookedClock(clock, control);
        long cookedBefore = cooked.UnixNanoseconds;

        double stepped = discipline.MakeStep();

        Assert.Equal(3, stepped, 9);
        Assert.Equal(0, control.RemainingSlewSeconds);
        Assert.Equal(0, clock.LocalOffsetSeconds, 9);
        Assert.Equal(cookedBefore, cooked.UnixNanoseconds);
        Assert.Equal(0, discipline.MakeStep());
    }

    private static (SimulatedClock Clock, SimulatedClockControl Control) Simulated(
        double initialOffset = 0, double frequencyError = 0, DateTime? start = null)
    {
        var clock = new SimulatedClock(start ?? Start, initialOffset, frequencyError);
        return (clock, new SimulatedClockControl(clock));
    }

    private static DisciplineInput Input(
        double offset,
        double frequency = 0,
        double skew = 5000,
        LeapIndicator leap = LeapIndicator.NoWarning,
        double rootDelay = 0.01,
        double rootDispersion = 0.001) =>
        new(offset, 1e-4, frequency, skew, 3, 0x0A000001, "ntp1", rootDelay, rootDispersion, leap);
}
