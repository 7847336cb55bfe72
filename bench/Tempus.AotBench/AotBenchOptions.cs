using System.Globalization;

namespace Tempus.AotBench;

/// <summary>The command line: <c>--rounds N --iterations M --quick --help</c>, each value bounded.</summary>
internal sealed class AotBenchOptions
{
    public const int DefaultRounds = 11;
    public const int DefaultIterations = 400_000;
    public const int QuickRounds = 3;
    public const int QuickIterations = 20_000;
    public const int MaxRounds = 1001;
    public const int MaxIterations = 100_000_000;

    /// <summary>Rounds × iterations per kind: at about 3.5 µs for the dearest kind, some 6 minutes of it at most.</summary>
    public const long MaxCallsPerKind = 100_000_000;

    /// <summary>Rounds timed per request kind; the best is reported.</summary>
    public int Rounds { get; private set; } = DefaultRounds;

    /// <summary>Calls per round.</summary>
    public int Iterations { get; private set; } = DefaultIterations;

    public bool ShowHelp { get; private set; }

    /// <summary>Parses the arguments; an explicit --rounds or --iterations wins over --quick's.</summary>
    /// <exception cref="ArgumentException">An unknown option, a missing value, or a value out of bounds.</exception>
    public static AotBenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new AotBenchOptions();
        int? rounds = null;
        int? iterations = null;
        bool quick = false;
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--rounds":
                    rounds = ParseBounded(args, ++i, "--rounds", 1, MaxRounds);
                    break;
                case "--iterations":
                    iterations = ParseBounded(args, ++i, "--iterations", 1, MaxIterations);
                    break;
                case "--quick":
                    quick = true;
                    break;
                case "-h" or "--help":
                    options.ShowHelp = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }

        options.Rounds = rounds ?? (quick ? QuickRounds : DefaultRounds);
        options.Iterations = iterations ?? (quick ? QuickIterations : DefaultIterations);
        if ((long)options.Rounds * options.Iterations > MaxCallsPerKind)
        {
            throw new ArgumentException($"--rounds {options.Rounds} × --iterations {options.Iterations} is more than {MaxCallsPerKind} calls per request kind: lower one of them");
        }

        return options;
    }

    private static int ParseBounded(IReadOnlyList<string> args, int index, string option, int min, int max)
    {
        if (index >= args.Count)
        {
            throw new ArgumentException($"{option} needs a value: a whole number from {min} to {max}");
        }

        if (!int.TryParse(args[index], NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new ArgumentException($"{option} '{args[index]}' is not a whole number from {min} to {max}");
        }

        return value;
    }
}
