using System.Globalization;

namespace Tempus.LoadGen;

/// <summary>The result of the rate search for one server and one request kind.</summary>
internal sealed class KindResult
{
    public required LoadKind Kind { get; init; }

    /// <summary>The highest target rate answered with under 1% loss (0 if none).</summary>
    public double MaxRate { get; set; }

    /// <summary>What stopped the search above <see cref="MaxRate"/>.</summary>
    public string LimitedBy { get; set; } = "";

    /// <summary>True when the generator, not the server, could not go faster.</summary>
    public bool GeneratorBound { get; set; }

    /// <summary>Server CPU seconds per answered request, over every measured step.</summary>
    public double CpuPerRequest { get; set; }

    /// <summary>Server CPU use at <see cref="MaxRate"/>, in cores.</summary>
    public double ServerCoresAtMax { get; set; }

    /// <summary>The generator's send rate into a socket that reads nothing.</summary>
    public double GeneratorCeiling { get; set; }

    public double CpuSeconds { get; set; }

    public double WallSeconds { get; set; }

    public double OtherCpuSeconds { get; set; }

    public int RequestLength { get; set; }
}

/// <summary>
/// Finds the highest rate with under 1% loss: doubles the target from the start rate until a step fails, then
/// bisects (geometrically) between the last passing and the first failing rate a bounded number of times.
/// Every step is a fixed-rate open-loop run of <see cref="LoadGenOptions.StepSeconds"/>.
/// </summary>
internal static class RateSearch
{
    private const int MaxSteps = 24;
    private static readonly TimeSpan s_drain = TimeSpan.FromMilliseconds(250);

    public static KindResult Run(UdpLoad load, ServerUnderTest server, LoadGenOptions options, KindResult result, CancellationToken cancellationToken)
    {
        TimeSpan stepDuration = TimeSpan.FromSeconds(options.StepSeconds);
        double good = 0;
        double bad = double.PositiveInfinity;
        StepResult? goodStep = null;
        StepResult? badStep = null;
        long answered = 0;
        int steps = 0;

        // On a shared machine a server can lose its CPU for long enough to overflow its socket once: a rate fails only
        // when a second try at it fails too.
        StepResult Step(double rate)
        {
            StepResult step = Try(rate, retry: false);
            if (!step.Passed(LoadGenOptions.MaxLoss) && step.GeneratorKeptUp)
            {
                step = Try(rate, retry: true);
            }

            if (step.Passed(LoadGenOptions.MaxLoss))
            {
                if (step.TargetRate > good)
                {
                    good = step.TargetRate;
                    goodStep = step;
                }
            }
            else if (step.TargetRate < bad)
            {
                bad = step.TargetRate;
                badStep = step;
            }

            return step;
        }

        StepResult Try(double rate, bool retry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            StepResult step = load.RunStep(rate, stepDuration, s_drain, server.Pid, cancellationToken);
            steps++;
            answered += step.Answered;
            result.CpuSeconds += step.ServerCpuSeconds;
            result.WallSeconds += step.WallSeconds;
            result.OtherCpuSeconds += step.OtherCpuSeconds;
            bool passed = step.Passed(LoadGenOptions.MaxLoss);
            string verdict = passed ? "pass" : !step.GeneratorKeptUp ? "FAIL (generator)" : retry ? "FAIL" : "fail, trying again";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {server.Name,-6} {Report.KindName(result.Kind),-9} target {step.TargetRate,9:F0}/s  sent {step.SendRate,9:F0}/s  " +
                $"answered {100 * (1 - step.Loss),6:F2}%  server cpu {100 * step.Cores(step.ServerCpuSeconds),4:F0}%  " +
                $"generator cpu {100 * step.Cores(step.GeneratorCpuSeconds),4:F0}%  others {100 * step.Cores(step.OtherCpuSeconds),4:F0}%  " +
                $"drops server {step.ServerSocketDrops} generator {step.GeneratorSocketDrops}" +
                $"{(step.Invalid > 0 ? $"  invalid {step.Invalid}" : "")}  {verdict}"));
            return step;
        }

        // Up: double while passing.
        double rate = options.StartRate;
        while (steps < MaxSteps)
        {
            StepResult step = Step(rate);
            if (!step.Passed(LoadGenOptions.MaxLoss))
            {
                break;
            }

            if (rate * 2 > options.MaxRate)
            {
                break;
            }

            rate *= 2;
        }

        // Down: halve while even the start rate fails.
        rate = options.StartRate / 2;
        while (good == 0 && rate >= 100 && steps < MaxSteps)
        {
            Step(rate);
            rate /= 2;
        }

        // Refine between the last pass and the first failure.
        for (int i = 0; i < options.RefineSteps && good > 0 && !double.IsPositiveInfinity(bad) && bad / good > 1.04 && steps < MaxSteps; i++)
        {
            Step(Math.Round(Math.Sqrt(good * bad)));
        }

        result.MaxRate = good;
        result.CpuPerRequest = answered == 0 ? 0 : result.CpuSeconds / answered;
        result.ServerCoresAtMax = goodStep is StepResult g ? g.Cores(g.ServerCpuSeconds) : 0;
        result.LimitedBy = Describe(badStep, options);
        result.GeneratorBound = badStep is StepResult b && !b.GeneratorKeptUp;
        return result;
    }

    private static string Describe(StepResult? failed, LoadGenOptions options)
    {
        if (failed is not StepResult step)
        {
            return string.Create(CultureInfo.InvariantCulture, $"--max-rate {options.MaxRate:F0}/s reached");
        }

        if (!step.GeneratorKeptUp)
        {
            return string.Create(CultureInfo.InvariantCulture, $"generator: sent only {step.SendRate:F0}/s of {step.TargetRate:F0}/s");
        }

        long lost = step.Sent - step.Answered;
        string at = string.Create(CultureInfo.InvariantCulture, $"at {step.TargetRate:F0}/s: {100 * step.Loss:F1}% lost");
        if (step.ServerSocketDrops * 2 >= lost)
        {
            return string.Create(CultureInfo.InvariantCulture, $"server ({at}, dropped at its socket; server cpu {100 * step.Cores(step.ServerCpuSeconds):F0}%)");
        }

        return step.GeneratorSocketDrops * 2 >= lost
            ? $"generator receive ({at}, dropped at the generator's sockets)"
            : string.Create(CultureInfo.InvariantCulture, $"server ({at} without socket drops: unanswered; server cpu {100 * step.Cores(step.ServerCpuSeconds):F0}%)");
    }
}
