using Tempus.Protocol;
using Tempus.Sources;

namespace Tempus.Tests.Sources;

public sealed class OnWireMeasurementTests
{
    private const double Precision = 1e-6;

    // RFC 5905 §8: θ = ((T2 − T1) + (T3 − T4)) / 2, δ = (T4 − T1) − (T3 − T2), ε = ρ_peer + ρ_local + PHI·(T4 − T1).
    // Server 0.5 s ahead, 10 ms each way, 1 ms in the server: T1 = 100, T2 = 100.51, T3 = 100.511, T4 = 100.021.
    [Fact]
    public void SymmetricPathGivesTheServersOffsetAndTheRoundTripDelay()
    {
        var m = OnWireMeasurement.FromTimestamps(At(100), At(100.51), At(100.511), At(100.021), Precision, Precision);

        Assert.Equal(0.5, m.Offset, 9);
        Assert.Equal(0.020, m.Delay, 9);
        Assert.Equal(2e-6 + 15e-6 * 0.021, m.Dispersion, 12);
    }

    // Hand-computed: T2 − T1 = 0.004, T3 − T4 = −0.012 → θ = −0.004, δ = 0.016.
    [Fact]
    public void DifferencesGiveTheSameFormulas()
    {
        var m = OnWireMeasurement.FromDifferences(0.004, -0.012, 0.017, 2e-6, 1e-6);

        Assert.Equal(-0.004, m.Offset, 12);
        Assert.Equal(0.016, m.Delay, 12);
        Assert.Equal(3e-6 + 15e-6 * 0.017, m.Dispersion, 15);
    }

    // RFC 5905 A.5.1.1: a negative delay is clamped to the system precision.
    [Fact]
    public void NegativeDelayIsClampedToThePrecision()
    {
        var m = OnWireMeasurement.FromDifferences(0.001, 0.0015, 0.0001, Precision, Precision);

        Assert.Equal(Precision, m.Delay);
        Assert.Equal(0.00125, m.Offset, 12);
    }

    [Fact]
    public void TimestampsAcrossTheEraBoundaryStillGiveSmallDifferences()
    {
        // T1 just before the 2036 era rollover, the others just after.
        var t1 = new NtpTimestamp(uint.MaxValue, 0);
        NtpTimestamp t2 = t1 + NtpTimestamp.SecondsToFixed(1.01);
        NtpTimestamp t3 = t1 + NtpTimestamp.SecondsToFixed(1.02);
        NtpTimestamp t4 = t1 + NtpTimestamp.SecondsToFixed(0.03);

        var m = OnWireMeasurement.FromTimestamps(t1, t2, t3, t4, Precision, Precision);

        Assert.Equal(1.0, m.Offset, 8);
        Assert.Equal(0.02, m.Delay, 8);
    }

    [Fact]
    public void PrecisionExponentConvertsToSeconds()
    {
        Assert.Equal(1.0 / (1 << 20), OnWireMeasurement.PrecisionToSeconds(-20));
        Assert.Equal(1.0, OnWireMeasurement.PrecisionToSeconds(0));
    }

    private static NtpTimestamp At(double seconds) => new NtpTimestamp(3_900_000_000, 0) + NtpTimestamp.SecondsToFixed(seconds);
}
