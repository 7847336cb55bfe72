using Tempus.Auth;
using Tempus.Discipline;
using Tempus.Selection;
using Tempus.Simulation;
using Xunit.Abstractions;

namespace Tempus.Tests.Simulation;

public sealed class SelectionSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void AFalsetickerAmongFourSourcesIsRejectedAndNeverSteersOverThreeSimulatedHours()
    {
        using var sim = new SimulationRunner(Sims.Start, initialOffsetSeconds: 0.05, frequencyErrorPpm: 30,
            discipline: new DisciplineOptions { MakeStepThreshold = 0.1, MakeStepLimit = 3 });
        sim.AddServer("good1");
        sim.AddServer("good2");
        sim.AddServer("good3");
        sim.AddServer("liar", new SimulatedServerOptions { ClockErrorSeconds = 0.250 });
        foreach (string name in new[] { "good1", "liar", "good2", "good3" })
        {
            sim.AddSource(Sims.Server(name));
        }

        double worst = 0;
        for (int i = 0; i < 180; i++)
        {
            sim.RunFor(TimeSpan.FromMinutes(1));
            if (i >= 60)
            {
                worst = Math.Max(worst, Math.Abs(sim.TrueOffsetSeconds));
                Assert.Equal('x', Sims.Selection(sim, "liar").SourcesState);
            }
        }

        SourceSelection liar = Sims.Selection(sim, "liar");
        output.WriteLine($"liar: {liar.Status} ({liar.Reason}); worst |offset| after the first hour {worst * 1e6:F1} µs");
        Assert.Equal(SourceSelectionStatus.Falseticker, liar.Status);
        Assert.Equal('x', liar.SelectDataState);
        Assert.DoesNotContain(sim.Updates, u => u.Peer == "liar");
        Assert.True(sim.Source("liar").SamplesAccepted > 10, "the falseticker is still measured");
        Assert.True(worst < 0.001, $"worst |offset| {worst * 1e3:F3} ms");
    }

    [Fact]
    public void UnderTheDefaultAuthselectmodeAPlainSourceNeverSteersEvenWhenItIsTheOnlyOneReachable()
    {
        // Two NTS servers and one plain server whose clock is 80 ms off: if it ever steered, the clock would show it.
        using var sim = new SimulationRunner(Sims.Start, initialOffsetSeconds: 0.02, frequencyErrorPpm: -15);
        Assert.Equal(AuthSelectMode.Prefer, sim.Engine.SelectionOptions.AuthSelectMode);
        sim.AddServer("nts1", new SimulatedServerOptions { Nts = true });
        sim.AddServer("nts2", new SimulatedServerOptions { Nts = true });
        sim.AddServer("plain", new SimulatedServerOptions { ClockErrorSeconds = 0.080 });
        sim.AddSource(Sims.Server("nts1", nts: true));
        sim.AddSource(Sims.Server("nts2", nts: true));
        sim.AddSource(Sims.Server("plain"));

        sim.RunFor(TimeSpan.FromHours(1));
        Assert.True(sim.Engine.Tracking.IsSynchronized);
        Assert.True(sim.Servers["nts1"].KeyExchanges >= 1);
        Assert.True(sim.Servers["nts1"].LastOutcome == Tempus.Server.ServerOutcome.RespondedNts, $"nts1 last outcome {sim.Servers["nts1"].LastOutcome}");
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);

        // Both NTS servers become unreachable for two hours; the plain one stays.
        sim.Network.SetPath("nts1", NetworkPath.Default with { LossProbability = 1 });
        sim.Network.SetPath("nts2", NetworkPath.Default with { LossProbability = 1 });
        sim.RunFor(TimeSpan.FromHours(2));

        SourceSelection plain = Sims.Selection(sim, "plain");
        output.WriteLine($"plain: {plain.Status}: {plain.Reason}; tracking stratum {sim.Engine.Tracking.Stratum}, true offset {sim.TrueOffsetSeconds * 1e3:F3} ms");
        Assert.Equal(SourceSelectionStatus.Unauthenticated, plain.Status);
        Assert.Contains("authselectmode prefer", plain.Reason, StringComparison.Ordinal);
        Assert.True(sim.Source("plain").Reach != 0, "the plain source is reachable");
        Assert.Equal(SourceSelectionStatus.Unreachable, Sims.Selection(sim, "nts1").Status);
        Assert.False(sim.Engine.Tracking.IsSynchronized);
        Assert.Equal(16, sim.Engine.Tracking.Stratum);
        Assert.DoesNotContain(sim.Updates, u => u.Peer == "plain");

        // Unsteered for two hours, the clock drifts only by what its learned frequency missed: far from the 80 ms lie.
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.01, $"offset {sim.TrueOffsetSeconds}");

        // The NTS servers come back: synchronized again, still never through the plain source.
        sim.Network.SetPath("nts1", NetworkPath.Default);
        sim.Network.SetPath("nts2", NetworkPath.Default);
        sim.RunFor(TimeSpan.FromHours(1));
        Assert.True(sim.Engine.Tracking.IsSynchronized);
        Assert.StartsWith("nts", sim.Engine.Tracking.ReferenceName, StringComparison.Ordinal);
        Assert.DoesNotContain(sim.Updates, u => u.Peer == "plain");
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);
    }

    [Fact]
    public void ASourceThatGoesAwayAndComesBackIsReselected()
    {
        using var sim = new SimulationRunner(Sims.Start, 0.01, 10);
        sim.AddServer("primary");
        sim.AddServer("backup", path: NetworkPath.Default with { OneWayDelaySeconds = 0.030 });
        sim.AddSource(Sims.Server("primary", options: SourceSelectOptions.Prefer));
        sim.AddSource(Sims.Server("backup"));

        sim.RunFor(TimeSpan.FromMinutes(30));
        Assert.Equal(SourceSelectionStatus.Selected, Sims.Selection(sim, "primary").Status);

        sim.Network.SetPath("primary", NetworkPath.Default with { LossProbability = 1 });
        sim.RunFor(TimeSpan.FromHours(2));
        Assert.Equal(SourceSelectionStatus.Unreachable, Sims.Selection(sim, "primary").Status);
        Assert.Equal(SourceSelectionStatus.Selected, Sims.Selection(sim, "backup").Status);
        Assert.Equal("backup", sim.Engine.Tracking.ReferenceName);
        Assert.Equal(0, sim.Source("primary").Reach);

        sim.Network.SetPath("primary", NetworkPath.Default);
        sim.RunFor(TimeSpan.FromHours(1));
        Assert.Equal(SourceSelectionStatus.Selected, Sims.Selection(sim, "primary").Status);
        Assert.Equal("primary", sim.Engine.Tracking.ReferenceName);
        Assert.Equal("primary", sim.Updates[^1].Peer);
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);
    }

    [Fact]
    public void AnNtsSourceWhoseServerIsUnreachableAtStartGetsItsKeyExchangeWhenItComesBack()
    {
        using var sim = new SimulationRunner(Sims.Start, 0, 0);
        sim.AddServer("nts1", new SimulatedServerOptions { Nts = true }, NetworkPath.Default with { LossProbability = 1 });
        sim.AddSource(Sims.Server("nts1", nts: true));

        sim.RunFor(TimeSpan.FromMinutes(10));
        Assert.Equal(0, sim.Servers["nts1"].KeyExchanges);
        Assert.Equal(0, sim.Source("nts1").TotalTx);

        sim.Network.SetPath("nts1", NetworkPath.Default);
        sim.RunFor(TimeSpan.FromMinutes(30));
        Assert.Equal(1, sim.Servers["nts1"].KeyExchanges);
        Assert.True(sim.Engine.Tracking.IsSynchronized);
        Assert.Equal("nts1", sim.Engine.Tracking.ReferenceName);
    }
    [Fact]
    public void SymmetricKeySourcesCountAsAuthenticatedAndSteerWhileAPlainOneWithAWrongClockIsShutOut()
    {
        using var keys = new KeyRing([new SymmetricKey(7, MacAlgorithm.Aes128Cmac, new byte[16] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, "test")]);
        using var sim = new SimulationRunner(Sims.Start, initialOffsetSeconds: -0.03, frequencyErrorPpm: 8);
        sim.AddServer("sk1", new SimulatedServerOptions { Keys = keys });
        sim.AddServer("sk2", new SimulatedServerOptions { Keys = keys });
        sim.AddServer("plain", new SimulatedServerOptions { ClockErrorSeconds = -0.040 });
        sim.AddSource(Sims.Server("sk1") with { KeyId = 7 });
        sim.AddSource(Sims.Server("sk2") with { KeyId = 7 });
        sim.AddSource(Sims.Server("plain"));

        sim.RunFor(TimeSpan.FromHours(1));

        Assert.Equal(Tempus.Server.ServerOutcome.RespondedAuthenticated, sim.Servers["sk1"].LastOutcome);
        Assert.Equal(SourceSelectionStatus.Unauthenticated, Sims.Selection(sim, "plain").Status);
        Assert.DoesNotContain(sim.Updates, u => u.Peer == "plain");
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);
    }
}
