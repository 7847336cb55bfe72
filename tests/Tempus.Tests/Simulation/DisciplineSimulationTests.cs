using Tempus.Discipline;
using Tempus.Protocol;
using Tempus.Simulation;
using Xunit.Abstractions;

namespace Tempus.Tests.Simulation;

public sealed class DisciplineSimulationTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-sim-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheDriftFileCarriesTheLearnedFrequencyToTheNextStart()
    {
        string path = Path.Combine(_dir, "tempus.drift");
        var options = new DisciplineOptions { DriftFile = path, MakeStepThreshold = 0.1, MakeStepLimit = 3 };
        using (var first = Sims.WithServers(3, initialOffset: 0.3, frequencyError: 100, discipline: options))
        {
            first.RunFor(TimeSpan.FromHours(3));

            // Saved hourly while running: chrony's sign, so this clock (it gains 100 ppm) is written as +100.
            Assert.InRange(-DriftFile.Read(path).ClockFrequencyPpm, 99, 101);
            Assert.True(first.Engine.Discipline.SaveDriftFile());
        }

        DriftFileReading saved = DriftFile.Read(path);
        output.WriteLine(File.ReadAllText(path));
        Assert.InRange(saved.SkewPpm!.Value, 0, 1);

        // Next start: the same oscillator begins corrected, with no frequency transient to learn.
        using var second = Sims.WithServers(3, initialOffset: 0.3, frequencyError: 100, discipline: options, seed: 2);
        Assert.True(second.Engine.Discipline.InitialDrift!.IsValid);
        Assert.InRange(second.Clock.ResidualFrequencyPpm, -1, 1);
        Assert.Equal(saved.SkewPpm.Value, second.Engine.Tracking.SkewPpm, 6);
        second.RunFor(TimeSpan.FromMinutes(30));
        output.WriteLine($"second start after 30 min: offset {second.TrueOffsetSeconds * 1e6:F1} µs, residual {second.Clock.ResidualFrequencyPpm:F3} ppm, updates {second.Engine.Tracking.Updates}");
        Assert.True(Math.Abs(second.TrueOffsetSeconds) < 0.001, $"offset {second.TrueOffsetSeconds}");
    }

    [Fact]
    public void MaxchangeIgnoresAJumpOfEveryServerTwiceAndThenTheDaemonMustExit()
    {
        // maxchange 0.5 1 2
        var options = new DisciplineOptions { MaxChangeOffset = 0.5, MaxChangeStart = 1, MaxChangeIgnore = 2 };
        using var sim = Sims.WithServers(3, initialOffset: 0.02, frequencyError: 10, discipline: options);
        sim.RunFor(TimeSpan.FromMinutes(30));
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);
        long updates = sim.Engine.Tracking.Updates;

        // Every server moves 2 s ahead at once (a compromised upstream): the clock must not follow.
        foreach (SimulatedServer server in sim.Servers.Values)
        {
            server.Options = server.Options with { ClockErrorSeconds = 2 };
        }

        sim.RunFor(TimeSpan.FromHours(2));

        Assert.True(sim.Exited);
        Assert.True(sim.Engine.Discipline.MustExit);
        Assert.Contains("exceeds the allowed maximum of 0.500 seconds", sim.Engine.Discipline.ExitReason, StringComparison.Ordinal);
        Assert.Equal(updates, sim.Engine.Tracking.Updates);
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.01, $"the clock followed the jump: offset {sim.TrueOffsetSeconds}");
        Assert.True(sim.Elapsed < TimeSpan.FromHours(2.5), "the run stops when the daemon would exit");
    }

    [Fact]
    public void ALeapSecondAnnouncedByTheServersIsArmedOnJune30AndInsertedWithoutAStep()
    {
        var leapAt = new DateTime(2027, 7, 1, 0, 0, 0, DateTimeKind.Utc);
        using var sim = new SimulationRunner(new DateTime(2027, 6, 29, 18, 0, 0, DateTimeKind.Utc), 0.005, 20);
        for (int i = 1; i <= 3; i++)
        {
            sim.AddServer($"ntp{i}", new SimulatedServerOptions { LeapSecondInsertedAt = leapAt });
            sim.AddSource(Sims.Server($"ntp{i}"));
        }

        // June 29: announced by the servers but not a leap-second day: not armed, not passed on to our clients.
        sim.RunFor(TimeSpan.FromHours(5));
        Assert.NotEqual(LeapIndicator.InsertSecond, sim.Control.Leap);
        Assert.Equal(LeapIndicator.NoWarning, sim.Engine.Reference(sim.Engine.Clock.NtpNow).Leap);

        // June 30: armed in the (simulated) kernel and announced to our own clients.
        sim.RunFor(TimeSpan.FromHours(2));
        Assert.Equal(LeapIndicator.InsertSecond, sim.Control.Leap);
        Assert.Equal(LeapIndicator.InsertSecond, sim.Engine.Reference(sim.Engine.Clock.NtpNow).Leap);
        Assert.Equal(LeapIndicator.InsertSecond, sim.Engine.Tracking.Leap);
        int updatesBefore = sim.Updates.Count;

        // Past midnight (July 1, 03:00): the clock repeated a second, as the servers' did, and nothing was stepped.
        sim.RunFor(TimeSpan.FromHours(26));
        Assert.Equal(-1, sim.Clock.LocalOffsetSeconds, 2);
        long serverNs = sim.Servers["ntp1"].Clock.UnixNanoseconds;
        long localNs = sim.Clock.UnixNanoseconds;
        output.WriteLine($"after the leap: local − server {(localNs - serverNs) / 1e6:F3} ms, local − true {sim.Clock.LocalOffsetSeconds:F6} s");
        Assert.InRange((localNs - serverNs) / 1e9, -0.001, 0.001);
        Assert.DoesNotContain(sim.Updates.Skip(updatesBefore), u => Math.Abs(u.Offset) > 0.01);
        Assert.NotEqual(LeapIndicator.InsertSecond, sim.Control.Leap);
        Assert.Equal(LeapIndicator.NoWarning, sim.Engine.Reference(sim.Engine.Clock.NtpNow).Leap);
    }

    [Fact]
    public void MakestepOnRequestStepsTheSlewInProgress()
    {
        using var sim = Sims.WithServers(3, initialOffset: 2.0, frequencyError: 0);
        sim.RunFor(TimeSpan.FromSeconds(3));
        Assert.Equal(DisciplineAction.Slewed, sim.Updates[0].Action);
        double remaining = sim.Control.RemainingSlewSeconds;
        Assert.InRange(remaining, -2, -1.5);

        double stepped = sim.Engine.MakeStep();

        Assert.Equal(remaining, stepped, 9);
        Assert.Equal(0, sim.Control.RemainingSlewSeconds);
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001, $"offset {sim.TrueOffsetSeconds}");
        sim.RunFor(TimeSpan.FromMinutes(10));
        Assert.True(Math.Abs(sim.TrueOffsetSeconds) < 0.001);
    }
}
