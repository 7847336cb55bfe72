using Tempus.Discipline;
using Tempus.Simulation;
using Xunit.Abstractions;

namespace Tempus.Tests.Simulation;

public sealed class ConvergenceTests(ITestOutputHelper output)
{
    [Fact]
    public void WithMakestepAOneSecondOffsetAndA100PpmErrorConvergeBelowOneMillisecondWithinTwoSimulatedHours()
    {
        // makestep 0.1 3, as chrony users write it; four good stratum-1 servers, iburst.
        using var sim = Sims.WithServers(4, initialOffset: 1.0, frequencyError: 100,
            discipline: new DisciplineOptions { MakeStepThreshold = 0.1, MakeStepLimit = 3 });

        sim.RunFor(TimeSpan.FromSeconds(10));
        Assert.Equal(DisciplineAction.Stepped, sim.Updates[0].Action);
        Assert.InRange(sim.Updates[0].Offset, -1.001, -0.999);
        Assert.InRange(Math.Abs(sim.TrueOffsetSeconds), 0, 0.01);

        sim.RunFor(TimeSpan.FromHours(1) - TimeSpan.FromSeconds(10));
        double worstSecondHour = Sims.RunSampling(sim, TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));

        output.WriteLine($"after {sim.Elapsed}: true offset {sim.TrueOffsetSeconds * 1e6:F1} µs, worst in hour 2 {worstSecondHour * 1e6:F1} µs, " +
            $"frequency {sim.Control.FrequencyPpm:F3} ppm, residual {sim.Clock.ResidualFrequencyPpm:F4} ppm, updates {sim.Engine.Tracking.Updates}, " +
            $"steps {sim.Updates.Count(u => u.Action == DisciplineAction.Stepped)}");
        Assert.True(worstSecondHour < 0.001, $"worst |offset| in the second hour {worstSecondHour * 1e3:F3} ms");
        Assert.InRange(sim.Control.FrequencyPpm, -101, -99);
        Assert.True(sim.Engine.Tracking.IsSynchronized);
        Assert.Equal(2, sim.Engine.Tracking.Stratum);

        // One step only: the other sources' responses in flight across it carried their T1 over (no half-step samples).
        Assert.Single(sim.Updates, u => u.Action == DisciplineAction.Stepped);
        Assert.All(sim.Updates.Skip(1), u => Assert.True(Math.Abs(u.Offset) < 0.01, $"update after the step: {u}"));
    }

    [Fact]
    public void WithoutMakestepAOneSecondOffsetIsSlewedNeverSteppedAndConvergesWithinTwoSimulatedHours()
    {
        using var sim = Sims.WithServers(4, initialOffset: 1.0, frequencyError: 100);

        // During the first minute the local clock moves toward true time no faster than maxslewrate allows.
        double previous = sim.TrueOffsetSeconds;
        for (int i = 0; i < 60; i++)
        {
            sim.RunFor(TimeSpan.FromSeconds(1));
            double now = sim.TrueOffsetSeconds;
            Assert.True(Math.Abs(now - previous) <= DisciplineOptions.Default.MaxSlewRatePpm * 1e-6 * 1.0 + 200e-6, $"offset moved {now - previous} s in one second");
            previous = now;
        }

        sim.RunFor(TimeSpan.FromHours(1) - TimeSpan.FromMinutes(1));
        double worstSecondHour = Sims.RunSampling(sim, TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));

        output.WriteLine($"after {sim.Elapsed}: true offset {sim.TrueOffsetSeconds * 1e6:F1} µs, worst in hour 2 {worstSecondHour * 1e6:F1} µs, " +
            $"frequency {sim.Control.FrequencyPpm:F3} ppm, updates {sim.Engine.Tracking.Updates}");
        Assert.DoesNotContain(sim.Updates, u => u.Action == DisciplineAction.Stepped);
        Assert.True(worstSecondHour < 0.001, $"worst |offset| in the second hour {worstSecondHour * 1e3:F3} ms");
        Assert.InRange(sim.Control.FrequencyPpm, -101, -99);
    }

    [Fact]
    public void AFrequencyErrorAloneIsLearnedAndTheTrackingReportShowsIt()
    {
        using var sim = Sims.WithServers(3, frequencyError: -35.5, seed: 7);
        sim.RunFor(TimeSpan.FromHours(2));

        var tracking = sim.Engine.Tracking;
        Assert.InRange(tracking.FrequencyPpm, 35.0, 36.0);
        Assert.InRange(Math.Abs(sim.TrueOffsetSeconds), 0, 0.001);
        Assert.InRange(tracking.SkewPpm, 0, 1);
        Assert.True(tracking.UpdateInterval >= 64, $"update interval {tracking.UpdateInterval}");
        Assert.True(tracking.RmsOffset < 0.001, $"rms offset {tracking.RmsOffset}");
        Assert.Contains(tracking.ReferenceName, new[] { "ntp1", "ntp2", "ntp3" });
    }

    [Fact]
    public void AnAsymmetricPathShowsAsHalfTheAsymmetryOfOffsetAsNtpPredicts()
    {
        // RFC 5905 §8: the offset error is half the difference of the one-way delays; NTP cannot see it.
        using var sim = new SimulationRunner(Sims.Start, 0, 0);
        sim.AddServer("ntp1", path: new NetworkPath { OneWayDelaySeconds = 0.005, JitterSeconds = 0.00005, AsymmetrySeconds = 0.004 });
        sim.AddSource(Sims.Server("ntp1"));
        sim.RunFor(TimeSpan.FromHours(1));

        // Requests take 4 ms longer than responses, so T2 reads 2 ms later than a symmetric path would give: the client
        // believes it is 2 ms behind and moves 2 ms ahead of true time.
        Assert.InRange(sim.TrueOffsetSeconds, -0.0023, -0.0017);
    }

    [Fact]
    public void TheSameSeedGivesTheSameRun()
    {
        double Run()
        {
            using var sim = Sims.WithServers(3, initialOffset: -0.2, frequencyError: 20, seed: 42);
            sim.RunFor(TimeSpan.FromMinutes(30));
            return sim.TrueOffsetSeconds;
        }

        Assert.Equal(Run(), Run());
    }
}
