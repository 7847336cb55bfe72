using Tempus.Simulation;

namespace Tempus.Tests.Simulation;

public sealed class SimulatedNetworkTests
{
    private const long T0 = 1_800_000_000L * 1_000_000_000L;

    [Fact]
    public void DatagramsArriveAfterTheirPathsDelayInOrderOfArrival()
    {
        var network = new SimulatedNetwork(seed: 3);
        network.SetPath("far", new NetworkPath { OneWayDelaySeconds = 0.050, JitterSeconds = 0 });
        network.SetPath("near", new NetworkPath { OneWayDelaySeconds = 0.001, JitterSeconds = 0, AsymmetrySeconds = 0.002 });

        Assert.True(network.Send("c", "far", toServer: true, [1], T0));
        Assert.True(network.Send("c", "near", toServer: true, [2], T0));
        Assert.True(network.Send("c", "near", toServer: false, [3], T0));

        Assert.Equal(T0 + 1_000_000, network.NextDeliveryTrueNs);
        Assert.False(network.TryReceive(T0 + 999_999, out _));
        Assert.True(network.TryReceive(T0 + 1_000_000, out var first));
        Assert.Equal(3, first.Payload[0]);
        Assert.True(network.TryReceive(T0 + 60_000_000, out var second));
        Assert.Equal(2, second.Payload[0]);
        Assert.Equal(T0 + 3_000_000, second.DeliverAtTrueNs);
        Assert.True(network.TryReceive(T0 + 60_000_000, out var third));
        Assert.Equal(T0 + 50_000_000, third.DeliverAtTrueNs);
        Assert.Null(network.NextDeliveryTrueNs);
    }

    [Fact]
    public void LossFollowsItsProbabilityAndTheSameSeedLosesTheSameDatagrams()
    {
        static List<bool> Run(int seed)
        {
            var network = new SimulatedNetwork(seed);
            network.SetPath("s", NetworkPath.Default with { LossProbability = 0.3 });
            var kept = new List<bool>();
            for (int i = 0; i < 10_000; i++)
            {
                kept.Add(network.Send("c", "s", true, [0], T0 + i));
            }

            return kept;
        }

        List<bool> a = Run(11);
        Assert.Equal(a, Run(11));
        Assert.NotEqual(a, Run(12));
        Assert.InRange(a.Count(k => !k), 2_800, 3_200);
    }

    [Fact]
    public void JitterOnlyEverAddsDelay()
    {
        var network = new SimulatedNetwork(5);
        network.SetPath("s", new NetworkPath { OneWayDelaySeconds = 0.010, JitterSeconds = 0.002 });
        double sum = 0;
        for (int i = 0; i < 2_000; i++)
        {
            network.Send("c", "s", true, [0], T0);
            Assert.True(network.TryReceive(long.MaxValue, out var d));
            double delay = (d.DeliverAtTrueNs - T0) / 1e9;
            Assert.True(delay >= 0.010);
            sum += delay - 0.010;
        }

        Assert.InRange(sum / 2_000, 0.0017, 0.0023);
    }

    [Theory]
    [InlineData(-0.001, 0, 0, 0)]
    [InlineData(0, -1, 0, 0)]
    [InlineData(0, 0, -1, 0)]
    [InlineData(0, 0, 0, 1.5)]
    [InlineData(double.NaN, 0, 0, 0)]
    [InlineData(double.PositiveInfinity, 0, 0, 0)]
    public void ImpossiblePathsAreRefused(double delay, double jitter, double asymmetry, double loss)
    {
        var network = new SimulatedNetwork(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => network.SetPath("s", new NetworkPath
        {
            OneWayDelaySeconds = delay,
            JitterSeconds = jitter,
            AsymmetrySeconds = asymmetry,
            LossProbability = loss,
        }));
    }
}
