using Tempus.Protocol;
using Tempus.Server;
using Tempus.Simulation;

namespace Tempus.Tests.Simulation;

public sealed class SyncEngineTests
{
    [Fact]
    public void UnsynchronizedTheServerAdvertisesLeap3OrTheLocalStratum()
    {
        using var plain = new SimulationRunner(Sims.Start, 0, 0);
        Assert.Equal(ReferenceState.Unsynchronized, plain.Engine.Reference(plain.Engine.Clock.NtpNow));

        using var local = new SimulationRunner(Sims.Start, 0, 0, localStratum: 8);
        NtpTimestamp now = local.Engine.Clock.NtpNow;
        ReferenceState state = local.Engine.Reference(now);
        Assert.Equal(8, state.Stratum);
        Assert.Equal(LeapIndicator.NoWarning, state.Leap);
        Assert.Equal(0x7F7F0101u, state.ReferenceId);
    }

    [Fact]
    public void SynchronizedTheServerAdvertisesThePeersStratumPlusOneAndAGrowingRootDispersion()
    {
        using var sim = Sims.WithServers(2, initialOffset: 0.001, frequencyError: 3);
        sim.AddServer("s2", new SimulatedServerOptions { Stratum = 2, RootDelaySeconds = 0.030, RootDispersionSeconds = 0.002 });
        sim.RunFor(TimeSpan.FromMinutes(20));

        NtpTimestamp now = sim.Engine.Clock.NtpNow;
        ReferenceState state = sim.Engine.Reference(now);
        var peer = sim.Source(sim.Engine.Tracking.ReferenceName);
        Assert.Equal(2, state.Stratum);
        Assert.Equal(LeapIndicator.NoWarning, state.Leap);
        Assert.Equal(peer.ReferenceId, state.ReferenceId);
        Assert.Equal(NtpTimestamp.FromUnixTimeNanoseconds(sim.Engine.Tracking.ReferenceTimeUnixNs), state.ReferenceTime);
        Assert.InRange(state.RootDelay.ToSeconds(), 0.015, 0.1);

        ReferenceState later = sim.Engine.Reference(now.Add(NtpTimestamp.SecondsToFixed(1000)));
        Assert.True(later.RootDispersion.ToSeconds() > state.RootDispersion.ToSeconds());
    }

    [Fact]
    public void ASourceWithADuplicateNameIsRefusedAndARemovedPeerIsReplaced()
    {
        using var sim = Sims.WithServers(2);
        sim.RunFor(TimeSpan.FromMinutes(10));
        var duplicate = sim.Engine.Sources[0];
        Assert.Throws<ArgumentException>(() => sim.Engine.AddSource(duplicate));

        var peer = sim.Source(sim.Engine.Tracking.ReferenceName);
        Assert.True(sim.Engine.RemoveSource(peer));
        Assert.True(sim.Engine.ReselectNeeded);
        sim.Engine.Update(sim.Engine.Clock.UnixNanoseconds);
        Assert.False(sim.Engine.ReselectNeeded);
        Assert.DoesNotContain(sim.Engine.LastSelection!.Sources, s => s.Name == peer.Name);
        Assert.NotEqual(peer.Name, sim.Engine.LastSelection.SystemPeer?.Name);
        Assert.False(sim.Engine.RemoveSource(peer));
    }
}
