using Tempus.Protocol;
using Tempus.Simulation;

namespace Tempus.Tests.Simulation;

public sealed class KissOfDeathTests
{
    [Fact]
    public void AfterAKissOfDeathRateTheSourcePollsLessOftenAndKeepsWorking()
    {
        using var sim = Sims.WithServers(3, initialOffset: 0.01, frequencyError: 5);
        sim.RunFor(TimeSpan.FromMinutes(20));
        var source = sim.Source("ntp1");
        int pollBefore = source.Poll;

        SimulatedServer server = sim.Servers["ntp1"];
        server.Options = server.Options with { KissCode = KissCode.Rate };
        sim.RunFor(TimeSpan.FromSeconds(2 << pollBefore));
        Assert.True(server.Kisses >= 1);
        Assert.Equal("RATE", source.LastKissCode);
        Assert.True(source.Poll > pollBefore, $"poll {source.Poll} after RATE, {pollBefore} before");
        Assert.False(source.Stopped);

        server.Options = server.Options with { KissCode = null };
        int samples = source.SamplesAccepted;
        sim.RunFor(TimeSpan.FromHours(2));
        Assert.True(source.SamplesAccepted > samples, "the source keeps measuring after RATE");
        Assert.NotEqual(0, source.Reach);
        Assert.True(source.Poll > pollBefore);
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);
    }

    [Fact]
    public void AfterAKissOfDeathDenyTheSourceStopsAndTheOthersCarryOn()
    {
        using var sim = Sims.WithServers(3, initialOffset: -0.01, frequencyError: -12);
        sim.RunFor(TimeSpan.FromMinutes(20));
        var denied = sim.Source("ntp2");

        SimulatedServer server = sim.Servers["ntp2"];
        server.Options = server.Options with { KissCode = KissCode.Deny };
        sim.RunFor(TimeSpan.FromMinutes(30));
        Assert.True(denied.Stopped);
        Assert.Contains("DENY", denied.StopReason, StringComparison.Ordinal);
        long sent = denied.TotalTx;
        long denyTime = sim.Clock.TrueUnixNanoseconds;

        // Even if the server relents, a stopped source does not ask again.
        server.Options = server.Options with { KissCode = null };
        sim.RunFor(TimeSpan.FromHours(2));
        Assert.Equal(sent, denied.TotalTx);
        Assert.DoesNotContain(sim.Updates, u => u.TrueTimeNs > denyTime && u.Peer == "ntp2");
        Assert.True(sim.Engine.Tracking.IsSynchronized);
        Assert.Contains(sim.Engine.Tracking.ReferenceName, new[] { "ntp1", "ntp3" });
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);
        Assert.NotEqual(Tempus.Selection.SourceSelectionStatus.Selected, Sims.Selection(sim, "ntp2").Status);
    }
}
