namespace Tempus.Clock;

/// <summary>The arithmetic of a bounded slew, shared by the virtual clocks so they slew alike.</summary>
internal static class ClockSlew
{
    /// <summary>chrony's default maxslewrate: 83333.333 ppm, i.e. one twelfth of the elapsed time.</summary>
    internal const double DefaultMaxSlewRatePpm = 1e6 / 12;

    /// <summary>
    /// Applies <paramref name="elapsedSeconds"/> of slewing at <paramref name="maxRatePpm"/> to the outstanding
    /// <paramref name="remainingSeconds"/>, and returns the part of it that was corrected (same sign).
    /// </summary>
    internal static double Progress(ref double remainingSeconds, double maxRatePpm, double elapsedSeconds)
    {
        if (remainingSeconds == 0 || elapsedSeconds <= 0)
        {
            return 0;
        }

        double capacity = maxRatePpm * 1e-6 * elapsedSeconds;
        double done = Math.Abs(remainingSeconds) <= capacity ? remainingSeconds : Math.CopySign(capacity, remainingSeconds);
        remainingSeconds -= done;
        return done;
    }

    internal static void ValidateRate(double maxSlewRatePpm)
    {
        if (!(maxSlewRatePpm > 0) || double.IsInfinity(maxSlewRatePpm))
        {
            throw new ArgumentOutOfRangeException(nameof(maxSlewRatePpm), maxSlewRatePpm, "The maximum slew rate must be a positive number of ppm.");
        }
    }

    internal static void ValidateFinite(double value, string name)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, "The value must be a finite number.");
        }
    }
}
