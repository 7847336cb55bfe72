using Tempus.Discipline;
using Tempus.Selection;
using Tempus.Simulation;
using Tempus.Sources;

namespace Tempus.Tests.Simulation;

/// <summary>Shorthands for the simulation tests.</summary>
internal static class Sims
{
    public static readonly DateTime Start = new(2026, 4, 14, 6, 0, 0, DateTimeKind.Utc);

    public static SourceDefinition Server(string host, bool nts = false, bool iburst = true, SourceSelectOptions options = SourceSelectOptions.None) =>
        new() { Kind = SourceKind.Server, Host = host, Nts = nts, IBurst = iburst, SelectOptions = options };

    /// <summary>A runner with <paramref name="count"/> good plain servers ntp1..ntpN, each polled by a source.</summary>
    public static SimulationRunner WithServers(
        int count,
        double initialOffset = 0,
        double frequencyError = 0,
        DisciplineOptions? discipline = null,
        SelectionOptions? selection = null,
        int seed = 1,
        DateTime? start = null)
    {
        var sim = new SimulationRunner(start ?? Start, initialOffset, frequencyError, selection, discipline, seed);
        for (int i = 1; i <= count; i++)
        {
            sim.AddServer($"ntp{i}");
            sim.AddSource(Server($"ntp{i}"));
        }

        return sim;
    }

    /// <summary>Runs <paramref name="duration"/> in steps of <paramref name="step"/>, returning the largest |true offset| seen at the steps.</summary>
    public static double RunSampling(SimulationRunner sim, TimeSpan duration, TimeSpan step)
    {
        double max = 0;
        for (TimeSpan done = TimeSpan.Zero; done < duration; done += step)
        {
            sim.RunFor(step);
            max = Math.Max(max, Math.Abs(sim.TrueOffsetSeconds));
        }

        return max;
    }

    public static SourceSelection Selection(SimulationRunner sim, string name) =>
        sim.Engine.LastSelection!.Sources.Single(s => s.Name == name);
}
