using System.Globalization;
using Tempus.Clock;
using Tempus.Protocol;
using Tempus.Simulation;

namespace Tempus.Tests.Simulation;

/// <summary>leapseclist/leapsectz: a leap second the sources never announce is armed from the table, on its day only.</summary>
public sealed class LeapSecondFileSimulationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-leapsim-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ALeapSecondOnlyTheTableKnowsIsArmedOnItsDayAndInsertedInStepWithTheServers()
    {
        var leapAt = new DateTime(2027, 7, 1, 0, 0, 0, DateTimeKind.Utc);
        long leapNtp = new DateTimeOffset(leapAt).ToUnixTimeSeconds() + 2208988800;
        string list = Path.Combine(_dir, "leap-seconds.list");
        File.WriteAllText(list, string.Create(CultureInfo.InvariantCulture, $"3439756800\t34\n3550089600\t35\n3644697600\t36\n3692217600\t37\n{leapNtp}\t38\n"));

        using var sim = new SimulationRunner(new DateTime(2027, 6, 29, 18, 0, 0, DateTimeKind.Utc), 0.005, 20);
        for (int i = 1; i <= 3; i++)
        {
            // The servers' kernels insert the leap second but they never announce it (a late upstream, a refclock).
            sim.AddServer($"ntp{i}", new SimulatedServerOptions { LeapSecondInsertedAt = leapAt, LeapAnnouncementDays = 0 });
            sim.AddSource(Sims.Server($"ntp{i}"));
        }

        sim.Engine.LeapSeconds = LeapSecondFile.ForList(list);

        // June 29: not the leap second's day.
        sim.RunFor(TimeSpan.FromHours(5));
        Assert.NotEqual(LeapIndicator.InsertSecond, sim.Control.Leap);
        Assert.Equal(LeapIndicator.NoWarning, sim.Engine.Reference(sim.Engine.Clock.NtpNow).Leap);

        // June 30: armed from the table, and announced to our own clients.
        sim.RunFor(TimeSpan.FromHours(2));
        Assert.Equal(LeapIndicator.InsertSecond, sim.Control.Leap);
        Assert.Equal(LeapIndicator.InsertSecond, sim.Engine.Reference(sim.Engine.Clock.NtpNow).Leap);
        int updatesBefore = sim.Updates.Count;

        // After midnight: the clock repeated the second with the servers; nothing had to be stepped or slewed away.
        sim.RunFor(TimeSpan.FromHours(26));
        long serverNs = sim.Servers["ntp1"].Clock.UnixNanoseconds;
        Assert.InRange((sim.Clock.UnixNanoseconds - serverNs) / 1e9, -0.001, 0.001);
        Assert.DoesNotContain(sim.Updates.Skip(updatesBefore), u => Math.Abs(u.Offset) > 0.01);
        Assert.Equal(LeapIndicator.NoWarning, sim.Engine.Reference(sim.Engine.Clock.NtpNow).Leap);
    }

    [Fact]
    public void WithoutTheTableTheUnannouncedLeapSecondIsCorrectedAfterTheFact()
    {
        // The control experiment: the same servers with no table. The clock does not insert the second, so after
        // midnight it is a second ahead of the servers and the discipline has to correct it.
        var leapAt = new DateTime(2027, 7, 1, 0, 0, 0, DateTimeKind.Utc);
        using var sim = new SimulationRunner(new DateTime(2027, 6, 30, 18, 0, 0, DateTimeKind.Utc), 0.005, 20);
        for (int i = 1; i <= 3; i++)
        {
            sim.AddServer($"ntp{i}", new SimulatedServerOptions { LeapSecondInsertedAt = leapAt, LeapAnnouncementDays = 0 });
            sim.AddSource(Sims.Server($"ntp{i}"));
        }

        sim.RunFor(TimeSpan.FromHours(7));
        Assert.NotEqual(LeapIndicator.InsertSecond, sim.Control.Leap);
        Assert.Contains(sim.Updates, u => Math.Abs(u.Offset) > 0.5);
    }
}
