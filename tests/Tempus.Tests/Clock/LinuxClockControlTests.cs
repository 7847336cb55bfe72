using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Tests.Clock;

/// <summary>
/// The real clock control. HARD RULE: nothing here calls a mutating method of a LinuxClockControl built over the real
/// kernel, nor clock_adjtime with non-zero modes; the machine's clock must never move because of a test. The
/// mutating methods are tested over FakeKernel, a simulated kernel clock, on ManualTime.
/// </summary>
public sealed class LinuxClockControlTests
{
    private const uint StepModes = Interop.Libc.ADJ_SETOFFSET | Interop.Libc.ADJ_NANO;
    private const uint FrequencyModes = Interop.Libc.ADJ_FREQUENCY | Interop.Libc.ADJ_TICK;
    private const double MaxRatePpm = 1e6 / 12;

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

    [Theory]
    [InlineData(0.0, 10_000, 0L)]
    [InlineData(12.5, 10_000, 819_200L)]
    [InlineData(-0.001, 10_000, -66L)]
    [InlineData(-49.75, 10_000, -3_260_416L)]
    [InlineData(123.456, 10_001, 1_537_212L)]
    [InlineData(-260.0, 9_997, 2_621_440L)]
    [InlineData(499.0, 10_005, -65_536L)]
    [InlineData(-1_234.5, 9_988, -2_260_992L)]
    [InlineData(150_000.0, 11_000, 32_768_000L)]
    [InlineData(-150_000.0, 9_000, -32_768_000L)]
    public void SetFrequencyWritesTickAndScaledFrequencyToTheKernel(double ppm, long tick, long scaledFrequency)
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.SetFrequency(ppm);

        Interop.Libc.Timex last = kernel.Calls[^1];
        Assert.Equal(FrequencyModes, last.Modes);
        Assert.Equal(tick, last.Tick);
        Assert.Equal(scaledFrequency, last.Freq);
        Assert.Equal(tick, kernel.Tick);
        Assert.Equal(scaledFrequency, kernel.Freq);
        Assert.Equal(ppm, control.FrequencyPpm);
        Assert.Equal(0, control.RemainingSlewSeconds);
    }

    [Theory]
    [InlineData(-10.0)]
    [InlineData(37.123)]
    [InlineData(-480.5)]
    [InlineData(7_654.321)]
    [InlineData(-99_999.0)]
    public void TheKernelRunsAtTheRequestedRateWithinOneScaledUnit(double ppm)
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.SetFrequency(ppm);
        time.Advance(TimeSpan.FromSeconds(100));

        Assert.Equal(ppm, kernel.ReadState().TotalFrequencyPpm, 1.0 / 65536);

        // Positive = the clock runs faster: after 100 s it has gained ppm · 100 µs.
        Assert.Equal(ppm * 1e-4, kernel.CorrectionSeconds, 1e-9);
    }

    [Fact]
    public void FrequencyReadsBackFromTheKernelAtConstructionAndAsSetAfterwards()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time) { Freq = (long)(12.5 * 65536), Tick = 10_001 };
        using var control = new LinuxClockControl(kernel, time);

        Assert.Equal(112.5, control.FrequencyPpm);
        Assert.Empty(kernel.Calls);

        control.SetFrequency(-7.25);
        Assert.Equal(-7.25, control.FrequencyPpm);
        control.SlewOffset(0.01);
        Assert.Equal(-7.25, control.FrequencyPpm);
    }

    [Fact]
    public void NonFiniteValuesAreRejectedBeforeTheKernelIsCalled()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        Assert.Throws<ArgumentOutOfRangeException>(() => control.SetFrequency(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => control.SlewOffset(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => control.StepOffset(double.NegativeInfinity));
        Assert.Empty(kernel.Calls);
    }

    [Theory]
    [InlineData(2.0, 2L, 0L)]
    [InlineData(-1.5, -2L, 500_000_000L)]
    [InlineData(0.25, 0L, 250_000_000L)]
    [InlineData(-0.25, -1L, 750_000_000L)]
    [InlineData(-3.0, -3L, 0L)]
    [InlineData(1e-9, 0L, 1L)]
    [InlineData(-1e-9, -1L, 999_999_999L)]
    [InlineData(86_400.123456789, 86_400L, 123_456_789L)]
    public void StepOffsetSendsANormalizedSecondsAndNanosecondsPair(double seconds, long tvSec, long tvNsec)
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.StepOffset(seconds);

        Interop.Libc.Timex last = kernel.Calls[^1];
        Assert.Equal(StepModes, last.Modes);
        Assert.Equal(tvSec, last.Time.TvSec);
        Assert.Equal(tvNsec, last.Time.TvUsec);

        // reference − local > 0: the clock is advanced by that much.
        Assert.Equal(seconds, kernel.CorrectionSeconds, 1e-9);
        Assert.Equal(0, kernel.Freq);
        Assert.Equal(KernelClockState.NominalTickMicroseconds, kernel.Tick);
    }

    [Theory]
    [InlineData(0.5, 10_833)]
    [InlineData(-0.5, 9_167)]
    public void SlewOffsetRaisesTheFrequencyInTheDirectionOfTheOffsetThenRestoresIt(double offset, long slewTick)
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.SlewOffset(offset);

        // reference − local > 0: the clock is behind and must run faster, at chrony's maximum slew rate.
        Assert.Equal(slewTick, kernel.Tick);
        Assert.Equal(Math.CopySign(MaxRatePpm, offset), kernel.ReadState().TotalFrequencyPpm, 1.0 / 65536);
        Assert.Equal(offset, control.RemainingSlewSeconds);

        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(offset / 2, control.RemainingSlewSeconds, 1e-6);
        Assert.Equal(offset / 2, kernel.CorrectionSeconds, 1e-6);

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, control.RemainingSlewSeconds, 1e-9);
        Assert.Equal(offset, kernel.CorrectionSeconds, 1e-7);
        Assert.Equal(0, kernel.Freq);
        Assert.Equal(KernelClockState.NominalTickMicroseconds, kernel.Tick);
        Assert.Null(control.LastTimerError);
    }

    [Fact]
    public void ASlewRidesOnTheBaseFrequencyAndPutsItBack()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);
        control.SetFrequency(-10);

        control.SlewOffset(-0.2);
        Assert.Equal(-10 - MaxRatePpm, kernel.ReadState().TotalFrequencyPpm, 1.0 / 65536);
        Assert.Equal(-10, control.FrequencyPpm);

        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(0, control.RemainingSlewSeconds, 1e-9);
        Assert.Equal(-655_360, kernel.Freq);
        Assert.Equal(KernelClockState.NominalTickMicroseconds, kernel.Tick);
        Assert.Equal(-0.2 - (10e-6 * 20), kernel.CorrectionSeconds, 1e-7);
    }

    [Fact]
    public void ASmallOffsetIsSlewedOverAtLeastASecond()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.SlewOffset(0.002);
        Assert.Equal(2_000, kernel.ReadState().TotalFrequencyPpm, 1.0 / 65536);

        time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(0.001, control.RemainingSlewSeconds, 1e-9);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0.002, kernel.CorrectionSeconds, 1e-9);
        Assert.Equal(KernelClockState.NominalTickMicroseconds, kernel.Tick);
        Assert.Equal(0, kernel.Freq);
    }

    [Fact]
    public void SlewsAddUpAndAnOppositeSlewCancelsTheRest()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.SlewOffset(1.0);
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(0.5, control.RemainingSlewSeconds, 1e-6);
        control.SlewOffset(0.25);
        Assert.Equal(0.75, control.RemainingSlewSeconds, 1e-6);
        control.SlewOffset(-control.RemainingSlewSeconds);

        Assert.Equal(0, control.RemainingSlewSeconds);
        Assert.Equal(0, kernel.Freq);
        Assert.Equal(KernelClockState.NominalTickMicroseconds, kernel.Tick);
        Assert.Equal(0.5, kernel.CorrectionSeconds, 1e-6);
        Assert.False(time.HasPendingTimer);
    }

    [Fact]
    public void ALateTimerOvershootsAndTheOvershootIsSlewedBack()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.SlewOffset(0.5);
        time.AdvanceWithoutTimers(TimeSpan.FromSeconds(7));
        Assert.Equal(0.5 - (7 * MaxRatePpm * 1e-6), control.RemainingSlewSeconds, 1e-6);
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(0, control.RemainingSlewSeconds, 1e-9);
        Assert.Equal(0.5, kernel.CorrectionSeconds, 1e-7);
        Assert.Equal(KernelClockState.NominalTickMicroseconds, kernel.Tick);
        Assert.Equal(0, kernel.Freq);
    }

    [Fact]
    public void StepOffsetLeavesASlewInProgressAloneAsTheOtherClockControlsDo()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);

        control.SlewOffset(0.5);
        control.StepOffset(2);

        Assert.Equal(0.5, control.RemainingSlewSeconds, 1e-9);
        Assert.Equal(10_833, kernel.Tick);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2.5, kernel.CorrectionSeconds, 1e-7);
    }

    [Fact]
    public void TheDisciplinesCancelThenStepEndsTheSlewAndMovesTheClockByWhatRemained()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);
        control.SetFrequency(25);
        control.SlewOffset(1.0);
        time.Advance(TimeSpan.FromSeconds(3));

        // ClockDiscipline.MakeStep and a step in Update: SlewOffset(-remaining) then StepOffset(remaining).
        double remaining = control.RemainingSlewSeconds;
        Assert.Equal(0.75, remaining, 1e-6);
        control.SlewOffset(-remaining);
        control.StepOffset(remaining);

        Assert.Equal(0, control.RemainingSlewSeconds);
        Assert.False(time.HasPendingTimer);
        Assert.Equal(25, kernel.ReadState().TotalFrequencyPpm, 1.0 / 65536);
        Assert.Equal(StepModes, kernel.Calls[^1].Modes);
        Assert.Equal(1.0 + (25e-6 * 3), kernel.CorrectionSeconds, 1e-7);
    }

    [Theory]
    [InlineData(LeapIndicator.InsertSecond, Interop.Libc.STA_INS)]
    [InlineData(LeapIndicator.DeleteSecond, Interop.Libc.STA_DEL)]
    [InlineData(LeapIndicator.NoWarning, 0)]
    [InlineData(LeapIndicator.Unsynchronized, 0)]
    public void SetLeapArmsOneLeapBitAndKeepsTheOtherStatusBits(LeapIndicator leap, int expectedBit)
    {
        var time = new ManualTime();
        int keep = Interop.Libc.STA_UNSYNC | Interop.Libc.STA_FREQHOLD;
        var kernel = new FakeKernel(time) { Status = keep | Interop.Libc.STA_INS | Interop.Libc.STA_DEL };
        using var control = new LinuxClockControl(kernel, time);

        control.SetLeap(leap);

        Assert.Equal(Interop.Libc.ADJ_STATUS, kernel.Calls[^1].Modes);
        Assert.Equal(keep | expectedBit, WritableStatus(kernel));
    }

    [Fact]
    public void LeapBitsAreSwitchedBetweenInsertDeleteAndNone()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time) { Status = Interop.Libc.STA_UNSYNC };
        using var control = new LinuxClockControl(kernel, time);

        control.SetLeap(LeapIndicator.InsertSecond);
        Assert.Equal(Interop.Libc.STA_UNSYNC | Interop.Libc.STA_INS, WritableStatus(kernel));
        control.SetLeap(LeapIndicator.DeleteSecond);
        Assert.Equal(Interop.Libc.STA_UNSYNC | Interop.Libc.STA_DEL, WritableStatus(kernel));
        control.SetLeap(LeapIndicator.NoWarning);
        Assert.Equal(Interop.Libc.STA_UNSYNC, WritableStatus(kernel));
    }

    [Fact]
    public void SetSynchronizedClearsOrSetsUnsyncAndPublishesTheErrorsInMicroseconds()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time) { Status = Interop.Libc.STA_UNSYNC | Interop.Libc.STA_INS };
        using var control = new LinuxClockControl(kernel, time);

        control.SetSynchronized(true, 0.0123, 0.0004);
        Interop.Libc.Timex last = kernel.Calls[^1];
        Assert.Equal(Interop.Libc.ADJ_STATUS | Interop.Libc.ADJ_MAXERROR | Interop.Libc.ADJ_ESTERROR, last.Modes);
        Assert.Equal(Interop.Libc.STA_INS, WritableStatus(kernel));
        Assert.Equal(12_300, kernel.MaxError);
        Assert.Equal(400, kernel.EstError);
        Assert.True(kernel.ReadState().IsSynchronized);

        control.SetSynchronized(false, 100, double.PositiveInfinity);
        Assert.Equal(Interop.Libc.STA_UNSYNC | Interop.Libc.STA_INS, WritableStatus(kernel));
        Assert.Equal(16_000_000, kernel.MaxError);
        Assert.Equal(16_000_000, kernel.EstError);

        control.SetSynchronized(true, -1, double.NaN);
        Assert.Equal(0, kernel.MaxError);
        Assert.Equal(16_000_000, kernel.EstError);
    }

    [Fact]
    public void TheFirstAdjustmentTakesTheClockOverFromTheKernelPllAndDropsItsOffset()
    {
        var time = new ManualTime();
        int pll = Interop.Libc.STA_PLL | Interop.Libc.STA_FLL | Interop.Libc.STA_PPSFREQ | Interop.Libc.STA_PPSTIME;
        var kernel = new FakeKernel(time)
        {
            Status = pll | Interop.Libc.STA_NANO,
            Offset = 123_456_789,
            Freq = 3 * 65536,
        };
        using var control = new LinuxClockControl(kernel, time);
        Assert.Empty(kernel.Calls);

        control.SetFrequency(3);

        Assert.Equal(0, kernel.Status & pll);
        Assert.Equal(0, kernel.ReadState().OffsetNanoseconds);
        int calls = kernel.Calls.Count;

        control.SetLeap(LeapIndicator.NoWarning);
        control.SetFrequency(4);
        Assert.Equal(calls + 2, kernel.Calls.Count);
        Assert.Equal(0, kernel.Status & pll);
    }

    [Fact]
    public void TakingOverAKernelWithoutPllLeavesItsStatusAlone()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time) { Status = Interop.Libc.STA_INS };
        using var control = new LinuxClockControl(kernel, time);

        control.StepOffset(1);

        // ADJ_NANO (the step's) sets STA_NANO; nothing else changed.
        Assert.Equal(Interop.Libc.STA_INS | Interop.Libc.STA_NANO, kernel.Status);
        Assert.Equal(0, kernel.Offset);
        Assert.Equal(1, kernel.CorrectionSeconds, 1e-9);
    }

    [Fact]
    public void WithoutCapSysTimeEveryAdjustmentFailsWithTheWayOut()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time) { HasCapSysTime = false };
        using var control = new LinuxClockControl(kernel, time);

        Assert.False(control.CanAdjust);
        Assert.Contains("no CAP_SYS_TIME", control.Description, StringComparison.Ordinal);
        Action[] adjustments =
        [
            () => control.SetFrequency(1),
            () => control.SlewOffset(0.1),
            () => control.StepOffset(0.1),
            () => control.SetLeap(LeapIndicator.InsertSecond),
            () => control.SetSynchronized(true, 0.1, 0.1),
        ];
        foreach (Action adjustment in adjustments)
        {
            ClockControlException e = Assert.Throws<ClockControlException>(adjustment);
            Assert.Equal(Interop.Libc.EPERM, e.Errno);
            Assert.Equal(LinuxClockControl.NotPermittedMessage, e.Message);
        }

        Assert.Equal(0, kernel.CorrectionSeconds);
        Assert.Equal(0, kernel.Freq);
    }

    [Fact]
    public void AnotherKernelErrorNamesTheOperation()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);
        control.SetFrequency(1);

        kernel.FailWith = Interop.Libc.EINVAL;
        ClockControlException e = Assert.Throws<ClockControlException>(() => control.StepOffset(1));

        Assert.Equal(Interop.Libc.EINVAL, e.Errno);
        Assert.StartsWith("cannot adjust the system clock (step): ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailedWriteAtTheEndOfASlewIsKeptAsTheLastTimerError()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        using var control = new LinuxClockControl(kernel, time);
        control.SlewOffset(0.1);

        kernel.FailWith = Interop.Libc.EPERM;
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.NotNull(control.LastTimerError);
        Assert.Equal(Interop.Libc.EPERM, control.LastTimerError.Errno);

        kernel.FailWith = 0;
        control.Dispose();
        Assert.Equal(0, kernel.Freq);
        Assert.Equal(KernelClockState.NominalTickMicroseconds, kernel.Tick);
    }

    [Fact]
    public void DisposingDuringASlewPutsTheBaseFrequencyBackAndStopsTheTimer()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        var control = new LinuxClockControl(kernel, time);
        control.SetFrequency(-3);
        control.SlewOffset(0.5);
        time.Advance(TimeSpan.FromSeconds(1));

        control.Dispose();

        Assert.Equal(-3, kernel.ReadState().TotalFrequencyPpm, 1.0 / 65536);
        int calls = kernel.Calls.Count;
        time.Advance(TimeSpan.FromSeconds(60));
        control.Dispose();
        Assert.Equal(calls, kernel.Calls.Count);
        Assert.Throws<ObjectDisposedException>(() => control.SetFrequency(1));
    }

    [Fact]
    public void DisposingWithoutASlewWritesNothing()
    {
        var time = new ManualTime();
        var kernel = new FakeKernel(time);
        var control = new LinuxClockControl(kernel, time);
        control.SetFrequency(2);
        int calls = kernel.Calls.Count;

        control.Dispose();

        Assert.Equal(calls, kernel.Calls.Count);
    }

    // STA_NANO is read-only and follows ADJ_NANO/ADJ_MICRO and PLL resets; the leap and sync tests ignore it.
    private static int WritableStatus(FakeKernel kernel) => kernel.Status & ~Interop.Libc.STA_NANO;

    /// <summary>
    /// A simulated CLOCK_REALTIME discipline with the kernel's semantics (kernel/time/ntp.c): the status bits with
    /// their read-only part, ADJ_STATUS applied before ADJ_OFFSET and ADJ_OFFSET ignored while STA_PLL is clear,
    /// freq clamped to ±500 ppm, tick limited to ±10%, ADJ_SETOFFSET with ADJ_NANO rejecting an unnormalized
    /// nanosecond field, EPERM without CAP_SYS_TIME. It integrates the rate it runs at over <see cref="ManualTime"/>
    /// into <see cref="CorrectionSeconds"/>, and records every clock_adjtime call.
    /// </summary>
    private sealed class FakeKernel : IKernelClock
    {
        private const int ReadOnlyStatus = Interop.Libc.STA_PPSSIGNAL | Interop.Libc.STA_PPSJITTER | Interop.Libc.STA_PPSWANDER
            | Interop.Libc.STA_PPSERROR | Interop.Libc.STA_CLOCKERR | Interop.Libc.STA_NANO | Interop.Libc.STA_MODE | Interop.Libc.STA_CLK;

        private const long MaxScaledFrequency = 500L << 16;
        private readonly ManualTime _time;
        private double _correctionSeconds;
        private long _integratedUntil;

        public FakeKernel(ManualTime time)
        {
            _time = time;
            _integratedUntil = time.GetTimestamp();
        }

        public bool HasCapSysTime { get; set; } = true;

        public long Freq { get; set; }

        public long Tick { get; set; } = KernelClockState.NominalTickMicroseconds;

        public int Status { get; set; } = Interop.Libc.STA_UNSYNC;

        public long Offset { get; set; }

        public long MaxError { get; set; } = 16_000_000;

        public long EstError { get; set; } = 16_000_000;

        public int FailWith { get; set; }

        public List<Interop.Libc.Timex> Calls { get; } = [];

        /// <summary>How far the clock was moved so far, seconds: steps plus the rate correction integrated over time.</summary>
        public double CorrectionSeconds
        {
            get
            {
                Integrate();
                return _correctionSeconds;
            }
        }

        public KernelClockState ReadState() => KernelClockState.From(Read());

        public Interop.Libc.KernelClockReading Read()
        {
            Interop.Libc.Timex timex = default;
            timex.Freq = Freq;
            timex.Tick = Tick;
            timex.Status = Status;
            timex.Offset = Offset;
            timex.MaxError = MaxError;
            timex.EstError = EstError;
            return new Interop.Libc.KernelClockReading(timex, State);
        }

        public int Adjust(ref Interop.Libc.Timex timex, out int errno)
        {
            Calls.Add(timex);
            errno = Validate(timex);
            if (errno != 0)
            {
                return -1;
            }

            Integrate();
            uint modes = timex.Modes;
            if ((modes & Interop.Libc.ADJ_SETOFFSET) != 0)
            {
                long nanoseconds = (modes & Interop.Libc.ADJ_NANO) != 0 ? timex.Time.TvUsec : timex.Time.TvUsec * 1000;
                _correctionSeconds += timex.Time.TvSec + (nanoseconds * 1e-9);
            }

            if ((modes & Interop.Libc.ADJ_STATUS) != 0)
            {
                int status = Status;
                if ((status & Interop.Libc.STA_PLL) != 0 && (timex.Status & Interop.Libc.STA_PLL) == 0)
                {
                    status = Interop.Libc.STA_UNSYNC;
                }

                Status = (status & ReadOnlyStatus) | (timex.Status & ~ReadOnlyStatus);
            }

            if ((modes & Interop.Libc.ADJ_NANO) != 0)
            {
                Status |= Interop.Libc.STA_NANO;
            }

            if ((modes & Interop.Libc.ADJ_FREQUENCY) != 0)
            {
                Freq = Math.Clamp(timex.Freq, -MaxScaledFrequency, MaxScaledFrequency);
            }

            if ((modes & Interop.Libc.ADJ_MAXERROR) != 0)
            {
                MaxError = timex.MaxError;
            }

            if ((modes & Interop.Libc.ADJ_ESTERROR) != 0)
            {
                EstError = timex.EstError;
            }

            if ((modes & Interop.Libc.ADJ_OFFSET) != 0 && (Status & Interop.Libc.STA_PLL) != 0)
            {
                Offset = timex.Offset;
            }

            if ((modes & Interop.Libc.ADJ_TICK) != 0)
            {
                Tick = timex.Tick;
            }

            return State;
        }

        private int State => (Status & Interop.Libc.STA_UNSYNC) != 0 ? Interop.Libc.TIME_ERROR
            : (Status & Interop.Libc.STA_INS) != 0 ? Interop.Libc.TIME_INS
            : (Status & Interop.Libc.STA_DEL) != 0 ? Interop.Libc.TIME_DEL
            : Interop.Libc.TIME_OK;

        private int Validate(in Interop.Libc.Timex timex)
        {
            if (timex.Modes == 0)
            {
                return 0;
            }

            if (!HasCapSysTime)
            {
                return Interop.Libc.EPERM;
            }

            if (FailWith != 0)
            {
                return FailWith;
            }

            if ((timex.Modes & Interop.Libc.ADJ_TICK) != 0 && (timex.Tick < 9_000 || timex.Tick > 11_000))
            {
                return Interop.Libc.EINVAL;
            }

            if ((timex.Modes & Interop.Libc.ADJ_SETOFFSET) != 0)
            {
                long limit = (timex.Modes & Interop.Libc.ADJ_NANO) != 0 ? 1_000_000_000 : 1_000_000;
                if (timex.Time.TvUsec < 0 || timex.Time.TvUsec >= limit)
                {
                    return Interop.Libc.EINVAL;
                }
            }

            return 0;
        }

        private void Integrate()
        {
            long now = _time.GetTimestamp();
            double elapsed = (now - _integratedUntil) / (double)_time.TimestampFrequency;
            _correctionSeconds += ReadState().TotalFrequencyPpm * 1e-6 * elapsed;
            _integratedUntil = now;
        }
    }

    /// <summary>Time that moves only when the test says, firing due timers punctually (or late, when told to).</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly List<ManualTimer> _timers = [];
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public bool HasPendingTimer => _timers.Exists(t => t.Due is not null);

        public override long GetTimestamp() => _now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, callback, state);
            timer.Change(dueTime, period);
            _timers.Add(timer);
            return timer;
        }

        /// <summary>Moves time on by <paramref name="by"/>, firing each timer when it falls due (bounded: 10 000 firings).</summary>
        public void Advance(TimeSpan by)
        {
            long end = _now + by.Ticks;
            for (int i = 0; i < 10_000; i++)
            {
                ManualTimer? next = null;
                foreach (ManualTimer timer in _timers)
                {
                    if (timer.Due is long due && due <= end && (next is null || due < next.Due))
                    {
                        next = timer;
                    }
                }

                if (next is null)
                {
                    _now = end;
                    return;
                }

                _now = Math.Max(_now, next.Due!.Value);
                next.Fire();
            }

            throw new InvalidOperationException("more than 10 000 timer firings in one Advance");
        }

        /// <summary>Moves time on without firing anything: the timers fire late, at the next <see cref="Advance"/>.</summary>
        public void AdvanceWithoutTimers(TimeSpan by) => _now += by.Ticks;

        private sealed class ManualTimer(ManualTime owner, TimerCallback callback, object? state) : ITimer
        {
            public long? Due { get; private set; }

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Assert.Equal(Timeout.InfiniteTimeSpan, period);
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime.Ticks;
                return true;
            }

            public void Fire()
            {
                Due = null;
                callback(state);
            }

            public void Dispose() => Due = null;

            public ValueTask DisposeAsync()
            {
                Due = null;
                return ValueTask.CompletedTask;
            }
        }
    }
}
