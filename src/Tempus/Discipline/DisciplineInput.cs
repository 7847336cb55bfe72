using Tempus.Protocol;

namespace Tempus.Discipline;

/// <summary>One clock update, as selection hands it to <see cref="ClockDiscipline.Update"/>.</summary>
/// <param name="Offset">The combined offset now, seconds, reference − local on the cooked timescale (positive: we are behind).</param>
/// <param name="OffsetSd">The system peer's standard deviation about its regression, seconds.</param>
/// <param name="FrequencyPpm">
/// The system peer's frequency relative to our clock (<see cref="Sources.SourceStatistics.FrequencyPpm"/>): the rate at
/// which the offset grows, ppm. Positive: our clock is slow and must be made faster.
/// </param>
/// <param name="SkewPpm">The error bound of <paramref name="FrequencyPpm"/>, ppm.</param>
/// <param name="Stratum">Our stratum after the update: the system peer's plus one.</param>
/// <param name="ReferenceId">The system peer's reference id as we will publish it.</param>
/// <param name="ReferenceName">The system peer's name, for the views.</param>
/// <param name="RootDelay">Root delay through the system peer, seconds.</param>
/// <param name="RootDispersion">Root dispersion through the system peer, seconds.</param>
/// <param name="Leap">The leap indicator the survivors announce.</param>
public readonly record struct DisciplineInput(
    double Offset,
    double OffsetSd,
    double FrequencyPpm,
    double SkewPpm,
    int Stratum,
    uint ReferenceId,
    string ReferenceName,
    double RootDelay,
    double RootDispersion,
    LeapIndicator Leap);

/// <summary>What <see cref="ClockDiscipline.Update"/> did.</summary>
public enum DisciplineAction
{
    /// <summary>The frequency was corrected and the offset is being slewed out.</summary>
    Slewed,

    /// <summary>The frequency was corrected and the clock stepped (<c>makestep</c>).</summary>
    Stepped,

    /// <summary><c>maxchange</c>: the offset was too large and the update was ignored; nothing changed.</summary>
    IgnoredByMaxChange,

    /// <summary><c>maxchange</c>: the offset was too large once too often; the daemon must exit, as chronyd does.</summary>
    MaxChangeExceeded,
}

/// <summary>A correction made to the local clock, as every source must hear of it.</summary>
/// <param name="LocalTimeNs">When, on the local (cooked) timescale before the correction, Unix ns.</param>
/// <param name="FrequencyChangePpm">How much the clock's rate changed, ppm; positive = it now runs faster.</param>
/// <param name="OffsetCorrection">Seconds (reference − local) stepped or being slewed out: the cooked timescale moved by this much.</param>
public readonly record struct ClockCorrection(long LocalTimeNs, double FrequencyChangePpm, double OffsetCorrection);
